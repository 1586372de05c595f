"""`bastide audit`: check the hash chain, read recent events."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from bastide.audit.service import list_events, verify_chain
from bastide.cli.common import console, err, platform_session

app = typer.Typer(help="The audit trail: hash-chained, append-only.", no_args_is_help=True)


@app.command("verify")
def audit_verify() -> None:
    """Walk the whole chain; exit non-zero naming the first broken event."""
    with platform_session() as platform, platform.db.unit_of_work() as session:
        report = verify_chain(session)
    if not report.ok:
        err.print(f"[red]broken:[/] {report.reason} (checked {report.events} events before it)")
        raise typer.Exit(6)
    console.print(f"[green]ok[/] audit chain of {report.events} events is intact")


@app.command("list")
def audit_list(
    target: Annotated[str | None, typer.Option(help="Only events about this target, e.g. snapshot:snds@2024-12.")] = None,
    limit: Annotated[int, typer.Option(help="How many of the newest events.")] = 50,
) -> None:
    """Show the newest audit events."""
    with platform_session() as platform, platform.db.unit_of_work() as session:
        table = Table("#", "time (UTC)", "actor", "action", "target")
        for e in list_events(session, target=target, limit=limit):
            table.add_row(str(e.id), f"{e.at:%Y-%m-%d %H:%M:%S}", e.actor, e.action, e.target)
        console.print(table)

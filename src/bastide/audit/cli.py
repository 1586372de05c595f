"""`bastide audit`: check the hash chain, read recent events."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from bastide.audit import checkpoints as cp
from bastide.audit.service import list_events, verify_chain
from bastide.cli.common import console, err, platform_session

app = typer.Typer(help="The audit trail: hash-chained, append-only.", no_args_is_help=True)


@app.command("verify")
def audit_verify(
    checkpoints: Annotated[Path | None, typer.Option(help="Signed checkpoints held outside the platform "
                                                     "(`bastide audit checkpoints --out`); default: the "
                                                     "platform's own.")] = None,
    public_key: Annotated[Path | None, typer.Option(help="The platform's public key (`bastide public-key`); "
                                                    "default: this platform's.")] = None,
) -> None:
    """Walk the whole chain and hold it against the signed checkpoints; exit 6 naming what is wrong
    (an event changed or missing, events deleted since a checkpoint, a chain rewritten)."""
    external = _read(checkpoints) if checkpoints else None
    pem = _read(public_key) if public_key else None
    with platform_session() as platform, platform.db.unit_of_work() as session:
        report = verify_chain(session)
        try:
            points = cp.imported(external) if external is not None else cp.published(session)
        except (ValueError, KeyError, TypeError) as exc:
            err.print(f"[red]error:[/] {checkpoints} is not a file of signed checkpoints: {exc}")
            raise typer.Exit(2) from None
        held = cp.against(session, points, public_pem=pem or platform.signer.public_pem())
    if not report.ok:
        err.print(f"[red]broken:[/] {report.reason} (checked {report.events} events before it)")
        raise typer.Exit(6)
    if not held.ok:
        err.print(f"[red]broken:[/] {held.problem}")
        raise typer.Exit(6)
    console.print(f"[green]ok[/] audit chain of {report.events} events is intact and holds against "
                  f"{held.checked} signed checkpoint(s)")


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError as exc:
        err.print(f"[red]error:[/] cannot read {path}: {exc.strerror}")
        raise typer.Exit(2) from None


@app.command("checkpoint")
def audit_checkpoint() -> None:
    """Sign the chain as it is now (the server does it by itself every few minutes)."""
    with platform_session() as platform, platform.db.unit_of_work() as session:
        made = cp.checkpoint(session, signer=platform.signer)
    console.print(f"checkpoint: {made.events} events, head {made.head[:16]}…, {made.at}")


@app.command("checkpoints")
def audit_checkpoints(out: Annotated[Path, typer.Option(help="Where to write them (JSON, with the public key).")]) -> None:
    """Export the signed checkpoints, for a data holder or an auditor to keep outside the platform."""
    with platform_session() as platform, platform.db.unit_of_work() as session:
        text = cp.export(cp.published(session), platform.signer.public_pem())
    out.write_text(text)
    console.print(f"wrote {out}")


@app.command("list")
def audit_list(
    target: Annotated[str | None, typer.Option(help="Only events about this target, e.g. snapshot:snds@2024-12.")] = None,
    action: Annotated[str | None, typer.Option(help="Only events of this action, e.g. notice:give_up.")] = None,
    limit: Annotated[int, typer.Option(help="How many of the newest events.")] = 50,
) -> None:
    """Show the newest audit events."""
    with platform_session() as platform, platform.db.unit_of_work() as session:
        table = Table("#", "time (UTC)", "actor", "action", "target")
        for e in list_events(session, target=target, action=action, limit=limit):
            table.add_row(str(e.id), f"{e.at:%Y-%m-%d %H:%M:%S}", e.actor, e.action, e.target)
        console.print(table)

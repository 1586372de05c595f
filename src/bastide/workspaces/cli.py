"""`bastide ws`: the operator's workspace commands (the researcher's come with the workspace pages)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from bastide.cli.common import actor, console, platform_session
from bastide.workspaces import service as workspaces

app = typer.Typer(help="Secure processing environments: one workspace per project, built from its permit.",
                  no_args_is_help=True)


@app.command("provision")
def provision(permit_id: Annotated[int, typer.Argument(help="The active permit's id (`bastide permits list`).")]) -> None:
    """Build the workspace's extract from the permit: its tables, columns, years and population,
    opt-outs excluded, identifiers minimised, persons pseudonymised for this project."""
    with platform_session() as platform:
        done = workspaces.provision(platform, actor=actor(), permit_id=permit_id,
                                    progress=lambda message: console.print(f"  {message}"))
    console.print(f"{done.workspace} ready: extract v{done.version}, {done.cohort:,} persons, {done.rows:,} rows")
    for name, table in sorted(done.tables.items()):
        console.print(f"  {name}: {table['rows']:,} rows")


@app.command("list")
def list_workspaces() -> None:
    """Every workspace with its permit, state and current extract."""
    with platform_session() as platform, platform.db.unit_of_work() as session:
        table = Table("workspace", "application", "permit", "state", "extract", "persons", "rows")
        for ws in workspaces.list_workspaces(session):
            current = workspaces.current_extract(session, ws)
            table.add_row(ws.reference, ws.application.reference, ws.permit.reference, ws.status,
                          f"v{current.version}" if current else "—", f"{current.cohort:,}" if current else "—",
                          f"{current.rows:,}" if current else "—")
    console.print(table)

"""`bastide ws`: the operator's workspace commands (the researcher's come with the workspace pages)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from bastide.cli.common import actor, console, err, platform_session
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


@app.command("sql")
def sql(
    workspace: Annotated[int, typer.Argument(help="The workspace's id (`bastide ws list`, or the web page).")],
    query_text: Annotated[str, typer.Argument(metavar="SQL", help="One SQL query on the workspace's tables.")],
    url: Annotated[str | None, typer.Option(help="The platform's address; default BASTIDE_PUBLIC_URL.")] = None,
    token: Annotated[str | None, typer.Option(envvar="BASTIDE_TOKEN", show_default=False,
                                              help="Your API token (scope workspace:enter), or BASTIDE_TOKEN.")] = None,
) -> None:
    """Run SQL in your workspace through the API, as yourself: your token, your permit's rights."""
    from bastide.config import load_settings
    from bastide.workspaces.client import ApiError, post_json

    if not token:
        err.print("[red]error:[/] give your API token with --token or BASTIDE_TOKEN "
                  "(create one on the platform: POST /api/tokens with scope workspace:enter)")
        raise typer.Exit(2)
    base = url or load_settings().public_url
    try:
        answer = post_json(f"{base.rstrip('/')}/api/workspaces/{workspace}/queries", {"sql": query_text}, token=token)
    except ApiError as exc:
        err.print(f"[red]error:[/] {exc}")
        raise typer.Exit(exc.exit_code) from None
    table = Table(*answer["columns"])
    for row in answer["rows"]:
        table.add_row(*("" if v is None else str(v) for v in row))
    console.print(table)
    console.print(f"{answer['row_count']} row(s) in {answer['seconds']} s" + (" (truncated)" if answer["truncated"] else ""))

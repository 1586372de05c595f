"""`bastide ws`: the operator's workspace commands (the researcher's come with the workspace pages)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from bastide.cli.common import actor, console, err, lazy_module, platform_session, with_served_url

workspaces = lazy_module("bastide.workspaces.service")

WAITING_SAID = 10  # seconds a job waits for a worker before the command says so

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
    from bastide.workspaces.client import post_json

    base = _api(url, token)
    answer = _calling(lambda: post_json(f"{base}/api/workspaces/{workspace}/queries", {"sql": query_text}, token=token))
    table = Table(*answer["columns"])
    for row in answer["rows"]:
        table.add_row(*("" if v is None else str(v) for v in row))
    console.print(table)
    cut = {"quota": " (cut: your daily quota of rows shown in this workspace is reached; keep the result as an output "
                    "and ask for its release through the airlock)",
           "bytes": " (cut: the answer's size limit)", "rows": " (cut: the answer's row limit)"}
    console.print(f"{answer['row_count']} row(s) in {answer['seconds']} s"
                  + (cut.get(answer.get("truncated_by"), " (truncated)") if answer["truncated"] else ""))


def _api(url: str | None, token: str | None) -> str:
    from bastide.config import load_settings

    if not token:
        err.print("[red]error:[/] give your API token with --token or BASTIDE_TOKEN "
                  "(create one on the platform: POST /api/tokens with scope workspace:enter)")
        raise typer.Exit(2)
    return (url or with_served_url(load_settings()).public_url).rstrip("/")


def _calling(request):
    from bastide.workspaces.client import ApiError

    try:
        return request()
    except ApiError as exc:
        err.print(f"[red]error:[/] {exc}")
        raise typer.Exit(exc.exit_code) from None


@app.command("run")
def run_job(
    workspace: Annotated[int, typer.Argument(help="The workspace's id.")],
    script: Annotated[Path, typer.Argument(help="A Python (.py) or SQL (.sql) file.")],
    url: Annotated[str | None, typer.Option(help="The platform's address; default BASTIDE_PUBLIC_URL.")] = None,
    token: Annotated[str | None, typer.Option(envvar="BASTIDE_TOKEN", show_default=False,
                                              help="Your API token (scope workspace:enter), or BASTIDE_TOKEN.")] = None,
) -> None:
    """Run a script in your workspace's sandbox, wait for its end, print its log; exit 1 if it failed."""
    import time

    from bastide.workspaces.client import get_json, post_json

    base = _api(url, token)
    try:
        text = script.read_text()
    except OSError as exc:
        err.print(f"[red]error:[/] cannot read {script}: {exc.strerror}")
        raise typer.Exit(2) from None
    kind = "sql" if script.suffix.lower() == ".sql" else "python"
    job = _calling(lambda: post_json(f"{base}/api/workspaces/{workspace}/jobs",
                                     {"name": script.name, "kind": kind, "script": text}, token=token))
    console.print(f"{job['reference']} queued")
    waited = 0
    while job["status"] in ("queued", "running"):
        time.sleep(1)
        waited += 1
        job = _calling(lambda: get_json(f"{base}/api/workspaces/{workspace}/jobs/{job['id']}", token=token))
        if job["status"] == "queued" and waited == WAITING_SAID:  # once: the platform's workers may be down
            console.print(f"{job['reference']} still waiting for one of the platform's workers (Ctrl-C leaves it "
                          "queued; its page shows whether a worker is running)")
    typer.echo(job["log"], nl=False)
    console.print(f"{job['reference']} {job['status']}" + (f" (exit {job['exit_code']})" if job["exit_code"] else ""))
    if job["status"] != "succeeded":
        raise typer.Exit(1)

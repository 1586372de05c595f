"""`bastide notices retry`: mail again what was given up, once the relay is mended."""

from __future__ import annotations

import typer

from bastide.cli.common import actor, console, lazy_module, platform_session

service = lazy_module("bastide.notices.service")
app = typer.Typer(help="The platform's mail to people (information requested, decisions, releases).",
                  no_args_is_help=True)


@app.command("retry")
def retry() -> None:
    """Put every notice given up after its tries back in the queue (the workers mail it)."""
    with platform_session() as platform, platform.db.unit_of_work() as session:
        again = service.retry_given_up(session, actor=actor())
    console.print(f"{again} notice(s) back in the queue: the workers mail them (`bastide workers` shows the queue)")

"""`bastide airlock`: check outputs before asking for their release (the same checks run again
at submission). Works offline, in a workspace or on a laptop: no platform needed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from bastide.airlock.check import check_file
from bastide.airlock.rules import BLOCKED, Parameters
from bastide.cli.common import console

app = typer.Typer(help="The airlock: disclosure checks and releases of outputs.", no_args_is_help=True)

STYLE = {"blocked": "red", "review": "yellow", "suggestion": "cyan", "info": "dim", "pass": "green"}


@app.command("check")
def check(
    files: Annotated[list[Path], typer.Argument(help="Output files: CSV/Parquet tables, model summaries, images, text.")],
    as_json: Annotated[bool, typer.Option("--json", help="One JSON report per file, for scripts.")] = False,
    threshold: Annotated[int, typer.Option(help="Minimum persons per cell (SNDS/PMSI profiles may ask 11).")] = 10,
) -> None:
    """Run the disclosure checks; exit 1 when anything is blocked (suppress, group, remove), 0 otherwise."""
    params = Parameters(threshold=threshold)
    reports = [check_file(path, params=params) for path in files]
    if as_json:
        typer.echo(json.dumps([r.to_dict() for r in reports], indent=1, ensure_ascii=False, default=str))
    else:
        for report in reports:
            console.print(f"[{STYLE[report.status]}]{report.status.upper()}[/] {report.file}")
            for f in report.findings:
                where = " ".join(x for x in (f"row {f.row}" if f.row else "", f.column or "") if x)
                console.print(f"  [{STYLE[f.outcome]}]{f.outcome}[/] {f.rule}{f' ({where})' if where else ''}: "
                              f"{f.message}", soft_wrap=True)
    if any(r.status == BLOCKED for r in reports):
        raise typer.Exit(1)

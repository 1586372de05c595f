"""`bastide airlock`: check outputs before asking for their release (the same checks run again
at submission). Works offline, in a workspace or on a laptop: no platform needed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from bastide.cli.common import console, err, lazy_module, platform_session

checks = lazy_module("bastide.airlock.check")
rules = lazy_module("bastide.airlock.rules")
releases = lazy_module("bastide.airlock.verify")

app = typer.Typer(help="The airlock: disclosure checks and releases of outputs.", no_args_is_help=True)

STYLE = {"blocked": "red", "review": "yellow", "suggestion": "cyan", "info": "dim", "pass": "green"}


@app.command("check")
def check(
    files: Annotated[list[Path], typer.Argument(help="Output files: CSV/Parquet tables, model summaries, images, text.")],
    as_json: Annotated[bool, typer.Option("--json", help="One JSON report per file, for scripts.")] = False,
    threshold: Annotated[int, typer.Option(help="Minimum persons per cell (SNDS/PMSI profiles may ask 11).")] = 10,
) -> None:
    """Run the disclosure checks; exit 0 when every file passes, 1 when anything is blocked (suppress,
    group, remove), 2 when nothing is blocked but a checker must look (review)."""
    params = rules.Parameters(threshold=threshold)
    reports = [checks.check_file(path, params=params) for path in files]
    if as_json:
        typer.echo(json.dumps([r.to_dict() for r in reports], indent=1, ensure_ascii=False, default=str))
    else:
        for report in reports:
            console.print(f"[{STYLE[report.status]}]{report.status.upper()}[/] {report.file}")
            for f in report.findings:
                where = " ".join(x for x in (f"row {f.row}" if f.row else "", f.column or "") if x)
                console.print(f"  [{STYLE[f.outcome]}]{f.outcome}[/] {f.rule}{f' ({where})' if where else ''}: "
                              f"{f.message}", soft_wrap=True)
    if any(r.status == rules.BLOCKED for r in reports):
        raise typer.Exit(1)
    if any(r.status == rules.REVIEW for r in reports):
        raise typer.Exit(2)


@app.command("verify")
def verify(
    folder: Annotated[Path, typer.Argument(help="A release folder: its files and RELEASE.json.")],
    public_key: Annotated[Path | None, typer.Option(help="The platform's public key (`bastide public-key`); "
                                                        "without it, this platform's own key is used.")] = None,
) -> None:
    """Check a release offline: signed by the platform, every file there and unchanged; exit 6 if not."""
    if public_key is not None:
        try:
            pem = public_key.read_text()
        except OSError as exc:
            err.print(f"[red]error:[/] cannot read {public_key}: {exc.strerror}")
            raise typer.Exit(2) from None
    else:
        with platform_session() as platform:
            pem = platform.signer.public_pem()
    verdict = releases.verify_release(folder, public_pem=pem)
    if verdict.ok:
        console.print(f"[green]valid[/] {verdict.release}: signed by the platform, every file unchanged")
        return
    err.print(f"[red]invalid:[/] {verdict.problem or verdict.release}")
    for label, names in (("changed", verdict.changed), ("missing", verdict.missing), ("not in the record", verdict.extra)):
        for name in names:
            err.print(f"  {label}: {name}")
    raise typer.Exit(6)

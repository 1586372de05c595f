"""`bastide synth` and `bastide base`: make a synthetic delivery, ingest, verify, list snapshots."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from bastide.cli.common import actor, console, err, human_bytes, lazy_module, platform_session
from bastide.errors import DomainError, ValidationFailed

ingest = lazy_module("bastide.base.ingest")
synth = lazy_module("bastide.base.synth")
verify = lazy_module("bastide.base.verify")
catalogue = lazy_module("bastide.catalogue.service")

synth_app = typer.Typer(help="Generate synthetic data shaped like the real thing.", no_args_is_help=True)
base_app = typer.Typer(help="The national base: ingest, verify and list immutable snapshots.", no_args_is_help=True)


@synth_app.command("snds")
def synth_snds(
    out: Annotated[Path, typer.Option(help="Folder to write the delivery to (must not exist or be empty).")],
    beneficiaries: Annotated[int, typer.Option(help="Number of synthetic beneficiaries.")] = 10_000,
    years: Annotated[str, typer.Option(help="Care years, e.g. 2022-2024.")] = "2022-2024",
    seed: Annotated[int, typer.Option(help="Random seed: the same seed gives the same delivery.")] = 42,
    gzip: Annotated[bool, typer.Option("--gzip", help="Compress each CSV file with gzip.")] = False,
) -> None:
    """Write a synthetic SNDS delivery (CSV per table, as CNAM sends it)."""
    try:
        year_list = synth.parse_years(years)
        with _bar() as bar:
            task = bar.add_task("synthetic SNDS", total=5 + 2 * len(year_list))
            summary = synth.generate(out, beneficiaries=beneficiaries, years=year_list, seed=seed, gzip=gzip,
                               progress=lambda step, done, total: bar.update(task, completed=done, description=step))
    except DomainError as exc:
        err.print(f"[red]error:[/] {exc.message}")
        raise typer.Exit(exc.exit_code) from None
    console.print(f"wrote {sum(summary.rows.values()):,} rows in {len(summary.rows)} tables to {summary.out} "
                  f"in {summary.seconds:.1f} s")


def _bar() -> Progress:
    return Progress(TextColumn("{task.description:<18}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                    TimeElapsedColumn(), console=err, transient=False)


@base_app.command("ingest")
def base_ingest(
    source: Annotated[str, typer.Argument(help="Delivery folder, or s3://bucket/prefix.")],
    dataset: Annotated[str, typer.Option(help="Dataset name, e.g. snds.")],
    release: Annotated[str, typer.Option(help="Release name, e.g. 2024-12.")],
    schema: Annotated[Path | None, typer.Option(help="Table Schema file or folder (any dataset but snds).")] = None,
    encoding: Annotated[str, typer.Option(help="Encoding of CSV files: utf-8 or latin-1.")] = "utf-8",
    quarantine: Annotated[bool, typer.Option("--quarantine", help="Set bad rows aside in the report instead of "
                                             "rejecting the delivery (file-level problems still reject it).")] = False,
    report: Annotated[Path | None, typer.Option(help="Where to write the validation report (JSON).")] = None,
    delimiter: Annotated[str, typer.Option(help="CSV delimiter: auto (read from each header), ';', ',', tab "
                                                "or '|'.")] = "auto",
    schema_drift: Annotated[str, typer.Option(help="Columns added or dropped by the producer: reject (the report "
                                                   "names each) or accept (publish the columns as delivered; "
                                                   "keys are always needed).")] = "reject",
) -> None:
    """Validate a delivery and publish it as an immutable, encrypted, signed snapshot."""
    request = ingest.IngestRequest(source, dataset, release, schema, encoding, quarantine, delimiter, schema_drift)
    with platform_session() as platform:
        began, stats = time.monotonic(), {"rows": 0, "bytes": 0, "files": 0}
        with _bar() as bar:
            task = bar.add_task("validating", total=None)

            def progress(event: str, info: dict) -> None:
                if event == "file":
                    stats["rows"] += info["rows"]
                    stats["bytes"] += info["size"]
                    stats["files"] += 1
                    rate = stats["bytes"] / max(time.monotonic() - began, 1e-6)
                    bar.update(task, description=f"{stats['files']} files, {stats['rows']:,} rows, "
                                                 f"{human_bytes(rate)}/s")
                else:
                    bar.update(task, description=f"{event} {info.get('folder', '')}")

            try:
                result = ingest.ingest(platform, actor=actor(), request=request, progress=progress)
            except ValidationFailed as exc:
                bar.stop()
                _print_problems(exc, report or platform.settings.home / "reports" / f"{dataset}@{release}.json")
                raise
    _print_summary(result)


def _print_problems(exc: ValidationFailed, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(exc.details, indent=2, ensure_ascii=False))
    table = Table("table", "file", "line", "column", "value", "rule", "problem", title="First problems")
    for p in exc.details["problems"][:25]:
        table.add_row(p["table"], p["file"] or "", str(p["line"] or ""), p["column"] or "", p["value"] or "",
                      p["rule"], p["message"])
    err.print(table)
    counts = ", ".join(f"{c['table']} {c['rule']}: {c['count']}" for c in exc.details["counts"])
    err.print(f"counts: {counts}")
    err.print(f"full report: {path}")


def _print_summary(result) -> None:
    mb = result.bytes / 1e6
    console.print(f"published [bold]{result.ref}[/]: {result.rows:,} rows in {result.files} files ({mb:,.1f} MB) "
                  f"in {result.seconds:.1f} s ({result.rows / max(result.seconds, 1e-6):,.0f} rows/s)")
    if result.reused:
        console.print(f"reused unchanged files of: {', '.join(result.reused)}")
    if result.quarantined:
        console.print(f"[yellow]quarantined rows:[/] {result.quarantined}")
    for folder, drift in result.drifted.items():
        changes = [f"+{c}" for c in drift["added"]] + [f"-{c}" for c in drift["removed"]]
        console.print(f"[yellow]schema drift accepted:[/] {folder} {' '.join(changes)}")


@base_app.command("verify")
def base_verify(ref: Annotated[str, typer.Argument(help="Snapshot, e.g. snds@2024-12.")]) -> None:
    """Re-hash every file, check the Merkle root and signature; non-zero exit on any difference."""
    with platform_session() as platform:
        began = time.monotonic()
        result = verify.verify_snapshot(platform, actor=actor(), ref=ref)
        seconds = time.monotonic() - began
    for label, items in (("changed", result.changed), ("missing", result.missing), ("extra", result.extra)):
        for item in items:
            err.print(f"[red]{label}:[/] {item}")
    if not result.signature_ok:
        err.print("[red]signature:[/] MANIFEST.json does not match its signature")
    if not result.manifest_ok:
        err.print("[red]manifest:[/] MANIFEST.json differs from the one recorded at publication")
    if not result.merkle_ok:
        err.print("[red]merkle root:[/] does not match the files listed")
    if not result.ok:
        raise typer.Exit(6)
    console.print(f"[green]ok[/] {ref}: {result.files} files, {human_bytes(result.bytes)} verified in {seconds:.1f} s; "
                  "signature and Merkle root match")


@base_app.command("snapshots")
def base_snapshots(dataset: Annotated[str, typer.Argument(help="Dataset name, e.g. snds.")]) -> None:
    """List the published snapshots of a dataset with row counts and sizes."""
    with platform_session() as platform, platform.db.unit_of_work() as session:
        ds = catalogue.get_dataset(session, dataset)
        table = Table("snapshot", "published (UTC)", "tables", "rows", "size", "files", "merkle root")
        for s in catalogue.list_snapshots(session, ds):
            table.add_row(s.ref, f"{s.published_at:%Y-%m-%d %H:%M}", str(len(s.tables)), f"{s.rows:,}",
                          human_bytes(s.bytes), str(s.files), s.merkle_root[:16] + "…")
        console.print(table)

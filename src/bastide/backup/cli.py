"""`bastide backup`: create, list, verify and restore backups of the whole platform."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table

from bastide.backup import service
from bastide.cli.common import actor, console, err, human_bytes, platform_session

app = typer.Typer(help="Backups of the whole platform: metadata, every object, sealed and signed (RES-01).",
                  no_args_is_help=True)

REPOSITORY = "A folder, or s3://bucket/prefix (on BASTIDE_BACKUP_S3_ENDPOINT if set, else the store's endpoint)."


def _bar(what: str) -> tuple[Progress, callable]:
    bar = Progress(TextColumn(what), BarColumn(), MofNCompleteColumn(), console=err, transient=True)
    task = bar.add_task(what, total=None)
    return bar, lambda done, total: bar.update(task, completed=done, total=total)


@app.command("create")
def create(to: Annotated[str, typer.Option("--to", help=REPOSITORY)]) -> None:
    """Back up the metadata database (one consistent instant) and every object of the store,
    sealed and signed. Objects unchanged since the last backup in the repository are not copied
    again. The master key is never in a backup: keep it (or the HSM token) apart."""
    with platform_session() as platform:
        bar, progress = _bar("objects")
        with bar:
            report = service.create(platform, actor=actor(), url=to, progress=progress)
    console.print(f"backup {report.id} written to {report.url}: {report.rows:,} rows, {report.objects} objects "
                  f"({human_bytes(report.bytes)}); copied {report.copied.objects} ({human_bytes(report.copied.bytes)}), "
                  f"{report.copied.reused} unchanged since the last backup; {report.seconds:.1f} s", soft_wrap=True)


@app.command("list")
def list_backups(source: Annotated[str, typer.Option("--from", help=REPOSITORY)]) -> None:
    """The backups a repository holds, oldest first, each with its signature checked."""
    with platform_session() as platform:
        repo = service.repository(platform, source)
        manifests = [repo.manifest(i, public_pem=platform.signer.public_pem()) for i in repo.backup_ids()]
    table = Table("backup", "made", "source", "rows", "objects", "size", "copied", title=f"Backups in {source}")
    for m in manifests:
        totals = m["totals"]
        table.add_row(m["id"], m["created_at"][:19], f"{m['source']['database']}+{m['source']['store']}",
                      f"{sum(m['metadata']['rows'].values()):,}", str(totals["objects"]), human_bytes(totals["bytes"]),
                      human_bytes(totals["copied_bytes"]))
    console.print(table if manifests else f"{source} holds no backup yet")


@app.command("verify")
def verify(
    source: Annotated[str, typer.Option("--from", help=REPOSITORY)],
    backup: Annotated[str | None, typer.Option("--id", help="The backup to check (default: the latest).")] = None,
) -> None:
    """Open every blob of a backup and check it against its hash, the metadata dump, and each
    snapshot's files and Merkle root as the backup holds them."""
    with platform_session() as platform:
        result = service.verify(platform, actor=actor(), url=source, backup_id=backup)
    if not result.ok:
        for problem in result.problems[:50]:
            err.print(f"[red]✗[/] {problem}", soft_wrap=True)
        err.print(f"backup {result.id} is damaged: {len(result.problems)} problem(s); restore an earlier one")
        raise typer.Exit(6)
    console.print(f"backup {result.id} ok: {result.objects} objects ({human_bytes(result.bytes)}) and the metadata "
                  f"opened and hashed, {result.snapshots} snapshot(s) whole", soft_wrap=True)


@app.command("restore")
def restore(
    source: Annotated[str, typer.Option("--from", help=REPOSITORY)],
    backup: Annotated[str | None, typer.Option("--id", help="The backup to restore (default: the latest).")] = None,
) -> None:
    """Restore a backup into this deployment, which must be empty (a new database and store) and
    hold the platform's master and signing keys (its key files, or its HSM token). Resumes an
    interrupted restore of the same backup. Ends with `base verify` of every snapshot and
    `audit verify`."""
    with platform_session(empty=True) as platform:
        bar, progress = _bar("objects")
        with bar:
            report = service.restore(platform, actor=actor(), url=source, backup_id=backup, progress=progress)
        checked = service.check_restored(platform, actor=actor())
    console.print(f"restored backup {report.id}: {report.rows:,} rows, {report.objects} objects "
                  f"({report.skipped} already in place from an interrupted restore); {report.seconds:.1f} s",
                  soft_wrap=True)
    for snapshot in checked.snapshots:
        console.print(f"{'✓' if snapshot.ok else '✗'} snapshot {snapshot.ref}: {snapshot.files} files")
    console.print(f"{'✓' if checked.chain.ok else '✗'} audit chain: {checked.chain.events} events"
                  + ("" if checked.chain.ok else f", {checked.chain.reason}"))
    if not checked.ok:
        raise typer.Exit(6)

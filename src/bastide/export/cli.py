"""`bastide export`: everything the platform holds, in open formats, and the check of an export."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Annotated

import typer

from bastide.cli.common import actor, console, err, human_bytes, lazy_module, platform_session, signed_document

service = lazy_module("bastide.export.service")

app = typer.Typer(help="Everything the platform holds, in open formats (reversibility, SOV-07).",
                  invoke_without_command=True, no_args_is_help=True)


@app.callback()
def export(
    context: typer.Context,
    to: Annotated[Path | None, typer.Option("--to", help="A new folder, on encrypted storage: the snapshots are "
                                                         "written in clear.")] = None,
) -> None:
    """Write every snapshot (Parquet, decrypted), the catalogue (HealthDCAT-AP), every workflow
    table (JSON lines), the permits and the audit trail as signed, the register (CSV) and what
    the airlock released, with a README of the layout and a signed list of every file's hash.
    Secrets and what never left a workspace are not exported."""
    if context.invoked_subcommand is not None:
        return
    if to is None:
        raise typer.BadParameter("give the folder to write: --to DIR")
    with platform_session() as platform:
        done = service.export(platform, actor=actor(), folder=to, progress=lambda step: err.print(f"{step}…"))
    console.print(f"exported {len(done.files)} files ({human_bytes(done.bytes)}) to {to}: README.md says what each "
                  "is; EXPORT.json lists their hashes, signed", soft_wrap=True)


@app.command("check")
def check(
    folder: Annotated[Path, typer.Argument(help="An export's folder.")],
    public_key: Annotated[Path, typer.Option(help="The platform's public key, obtained apart from the export.")],
) -> None:
    """Check an export offline: EXPORT.json's signature, then every file against its hash; exit 6
    if anything was altered or is missing."""
    document = signed_document(folder / "EXPORT.json", public_key, service.FORMAT)
    wrong = [path for path, digest in document["files"].items() if _sha256(folder / path) != digest]
    for path in wrong[:20]:
        err.print(f"[red]✗[/] {path} is missing or differs")
    if wrong:
        raise typer.Exit(6)
    console.print(f"[green]valid[/] export of {document['exported_at'][:19]}: {len(document['files'])} files, "
                  "each as signed")


def _sha256(path: Path) -> str | None:
    if not path.is_file():
        return None
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()

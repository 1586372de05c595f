"""`bastide migrate`: copy the whole platform to another deployment, and check the signed report."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from bastide.cli.common import actor, console, human_bytes, platform_session, signed_document
from bastide.config import settings_of_file
from bastide.errors import ConfigError
from bastide.migration import service
from bastide.platform import Platform

app = typer.Typer(help="Copy the whole platform to another deployment (another database, store, key backend).",
                  invoke_without_command=True, no_args_is_help=True)


@app.callback()
def migrate(
    context: typer.Context,
    to: Annotated[Path | None, typer.Option("--to", help="The target deployment's settings: a TOML file with a "
                                                         "\\[bastide] table naming its home, database, store, keys.")] = None,
    objects_only: Annotated[bool, typer.Option(help="Copy the objects only, the source still serving (repeat at "
                                                     "will; each run copies what is new).")] = False,
) -> None:
    """Copy this platform to the deployment `--to` names: objects (hashed, read back), then — with
    the source's server stopped — what changed meanwhile, the metadata (keys wrapped again under
    the target's master key) and the checks; ends with a signed transfer report. Resumes after an
    interruption. The source is only read."""
    if context.invoked_subcommand is not None:
        return
    if to is None:
        raise typer.BadParameter("give the target's settings: --to target.toml")
    with platform_session() as platform:
        target = _target(platform, to)
        try:
            moved = service.migrate(platform, target, actor=actor(), objects_only=objects_only,
                                    journal_dir=platform.settings.home / "migrations")
        finally:
            target.close()
    copied = moved.copied
    console.print(f"copied {copied.objects} objects ({human_bytes(copied.bytes)}) in {len(moved.passes)} pass(es), "
                  f"{copied.seconds:.1f} s; each read back from the target and its hash checked", soft_wrap=True)
    if moved.report is None:
        console.print("objects only: stop the source's server, then run again without --objects-only")
        return
    for snapshot in moved.report["snapshots"]:
        console.print(f"✓ snapshot {snapshot['ref']}: {snapshot['files']} files, Merkle root as on the source")
    console.print(f"✓ metadata: {sum(moved.report['metadata']['rows'].values()):,} rows; audit chain of "
                  f"{moved.report['audit_events']} events intact")
    console.print(f"signed transfer report: {moved.report_path}", soft_wrap=True)


def _target(source: Platform, path: Path) -> Platform:
    target = Platform(settings_of_file(path))
    if (target.settings.resolved_database_url == source.settings.resolved_database_url
            or target.settings.resolved_store_url == source.settings.resolved_store_url):
        target.close()
        raise ConfigError(f"{path} names this deployment's own database or store: a migration needs another")
    return target


@app.command("check-report")
def check_report(
    file: Annotated[Path, typer.Argument(help="A transfer report from `bastide migrate`.")],
    public_key: Annotated[Path, typer.Option(help="The platform's public key (`bastide public-key`), obtained "
                                                  "apart from the report.")],
) -> None:
    """Check a transfer report's signature offline (the data holder's check); exit 6 if altered."""
    document = signed_document(file, public_key, service.REPORT_FORMAT)
    objects = document["objects"]
    console.print(f"[green]valid[/] transfer {document['id']} of {document['finished_at'][:19]}: "
                  f"{document['source']['database']}+{document['source']['store']} → "
                  f"{document['target']['database']}+{document['target']['store']}, {objects['count']} objects "
                  f"({human_bytes(objects['bytes'])}), {len(document['merkle_roots'])} Merkle root(s)", soft_wrap=True)




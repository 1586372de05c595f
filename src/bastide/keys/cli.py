"""`bastide keys`: the master key's rotation."""

from __future__ import annotations

import typer

from bastide.backup import service as backups
from bastide.cli.common import actor, console, err, platform_session
from bastide.keys.rotation import rotate_master_key

app = typer.Typer(help="The platform's master key (a key file or an HSM's token).", no_args_is_help=True)


@app.command("rotate")
def rotate() -> None:
    """Make a new master key, wrap every data key and second-factor secret again under it, destroy
    the old one. No data file is rewritten. Safe to run again after an interruption."""
    failed: list[str] = []
    with platform_session() as platform:
        done = rotate_master_key(platform, actor=actor(),
                                 before_finish=lambda: failed.extend(backups.refresh_repository_keys(platform)))
        where = platform.keys.location
    console.print(f"rotated the master key {where}: {done.data_keys} data keys and {done.secrets} second-factor "
                  "secrets wrapped under the new one; the old one is destroyed", soft_wrap=True)
    for problem in failed:
        err.print(f"[yellow]warning:[/] the key of backup repository {problem}; its backups open again once "
                  "`bastide backup create --to` it succeeds", soft_wrap=True)

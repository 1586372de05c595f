"""The `bastide` command."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import Annotated

import typer

from bastide.airlock.cli import app as airlock_app
from bastide.audit.cli import app as audit_app
from bastide.backup.cli import app as backup_app
from bastide.base.cli import base_app, synth_app
from bastide.catalogue import service as catalogue
from bastide.catalogue.cli import app as catalogue_app
from bastide.cli.common import actor, console, platform_session, serving_at
from bastide.export.cli import app as export_app
from bastide.governance.cli import app as permits_app
from bastide.governance.cli import optout_app, register_app
from bastide.identity.cli import app as users_app
from bastide.keys.cli import app as keys_app
from bastide.migration.cli import app as migrate_app
from bastide.notices.cli import app as notices_app
from bastide.sovereignty.cli import app as sovereignty_app
from bastide.worker import cli as worker_cli
from bastide.workspaces.cli import app as ws_app

app = typer.Typer(help="Bastide: sovereign platform for national health data.", no_args_is_help=True,
                  pretty_exceptions_enable=False, add_completion=False)
app.add_typer(synth_app, name="synth")
app.add_typer(base_app, name="base")
app.add_typer(catalogue_app, name="catalogue")
app.add_typer(audit_app, name="audit")
app.add_typer(users_app, name="users")
app.add_typer(permits_app, name="permits")
app.add_typer(register_app, name="register")
app.add_typer(optout_app, name="optout")
app.add_typer(ws_app, name="ws")
app.add_typer(airlock_app, name="airlock")
app.add_typer(keys_app, name="keys")
app.add_typer(backup_app, name="backup")
app.add_typer(migrate_app, name="migrate")
app.add_typer(sovereignty_app, name="sovereignty")
app.add_typer(export_app, name="export")
app.add_typer(notices_app, name="notices")
app.command("worker")(worker_cli.worker)
app.command("workers")(worker_cli.workers)

SAMPLE = {"beneficiaries": 2000, "years": [2022, 2023, 2024], "seed": 42, "release": "sample"}


@app.command()
def init() -> None:
    """Create what is missing: keys (0600), the metadata database, the store."""
    with platform_session(init=True) as platform:
        console.print(f"ready: database {platform.db.engine.dialect.name}, store {platform.store.url}, "
                      f"master key {platform.keys.location}, signing key {platform.signer.location}", soft_wrap=True)


@app.command()
def recover() -> None:
    """End the ingests, extract builds and jobs whose process ended mid-work (a restart, a crash,
    kill -9): a snapshot is rejected and a build abandoned (their files deleted; the workspace
    failed), a job fails, an ended job's scratch folder goes. The workers do this by themselves
    every few seconds; this is for a platform run from the command line alone. What a live process
    holds is never touched."""
    from bastide import recovery

    with platform_session() as platform:
        done = recovery.recover(platform)
    for ref in done.snapshots:
        console.print(f"ended the ingest of {ref}: rejected, its objects deleted; `bastide base ingest` it again")
    for name in done.extracts:
        console.print(f"ended the build of {name}: its workspace is failed; `bastide ws provision` it again")
    for name in done.jobs:
        console.print(f"ended {name}: its researcher may submit it again")
    if done.scratch:
        console.print(f"deleted {len(done.scratch)} scratch folder(s) of ended jobs")
    if not done:
        console.print("nothing to end: every ingest, build and job has a live process")


@app.command("public-key")
def public_key() -> None:
    """Print the platform's Ed25519 public key (PEM), to check signed manifests."""
    with platform_session() as platform:
        typer.echo(platform.signer.public_pem(), nl=False)


@app.command()
def up(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    sample: Annotated[bool, typer.Option(help="Load a synthetic SNDS sample when the catalogue is empty.")] = True,
    worker: Annotated[bool, typer.Option(help="Start a `bastide worker` beside the server (builds, jobs, "
                                         "scheduled checks); --no-worker when workers run elsewhere.")] = True,
) -> None:
    """Initialise what is missing, load a synthetic SNDS sample if empty, serve API and pages, with a
    worker process beside them."""
    import uvicorn

    from bastide.server import create_app

    with platform_session(init=True) as platform:
        if "public_url" not in platform.settings.model_fields_set:  # links point where this server listens
            platform.settings.public_url = f"http://{'localhost' if host in ('127.0.0.1', '0.0.0.0') else host}:{port}"
        if sample:
            _load_sample(platform)
        _first_account_hint(platform)
        console.print(f"Bastide is up: {platform.settings.public_url}/  (API docs: {platform.settings.public_url}/docs)")
        with serving_at(platform.settings, platform.settings.public_url), \
                _worker_beside(platform.settings.public_url) if worker else contextlib.nullcontext():
            uvicorn.run(create_app(platform), host=host, port=port, log_level="warning")


@contextlib.contextmanager
def _worker_beside(public_url: str):
    """A worker in a process of its own (long work never runs in the web process), stopped with
    the server: asked first, so that what it runs finishes or is left to be ended cleanly."""
    import signal
    import subprocess
    import sys

    env = {**os.environ, "BASTIDE_PUBLIC_URL": public_url}
    process = subprocess.Popen([sys.executable, "-m", "bastide.cli", "worker", "--parent", str(os.getpid())], env=env)
    # uvicorn raises the SIGTERM it caught again once it has shut down: as an exit, so that the
    # worker is stopped below instead of outliving the server
    previous = signal.signal(signal.SIGTERM, lambda signum, _frame: sys.exit(128 + signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _first_account_hint(platform) -> None:
    """No default account, ever: the operator creates the first administrator and gets a link."""
    from bastide.identity import service as identity

    with platform.db.unit_of_work() as session:
        if identity.list_users(session):
            return
    typer.echo("no account yet: create yours, then open the link it prints —\n"
               "  bastide users create-org 'My organisation' --sector public\n"
               "  bastide users create you@example.org --name 'Your Name' --org 'My organisation' "
               "--role administrator --until 2027-12-31")


def _load_sample(platform) -> None:
    from bastide.base.ingest import IngestRequest, ingest
    from bastide.base.synth import generate

    with platform.db.unit_of_work() as session:
        if catalogue.list_datasets(session):
            return
    console.print("loading a synthetic SNDS sample (first start only)…")
    with tempfile.TemporaryDirectory(dir=platform.settings.home) as tmp:
        out = Path(tmp) / "delivery"
        generate(out, beneficiaries=SAMPLE["beneficiaries"], years=SAMPLE["years"], seed=SAMPLE["seed"])
        result = ingest(platform, actor=actor(), request=IngestRequest(str(out), "snds", SAMPLE["release"]))
    console.print(f"loaded {result.ref}: {result.rows:,} rows")

"""The `bastide` command."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated

import typer

from bastide.audit.cli import app as audit_app
from bastide.base.cli import base_app, synth_app
from bastide.catalogue import service as catalogue
from bastide.catalogue.cli import app as catalogue_app
from bastide.cli.common import actor, console, platform_session
from bastide.governance.cli import app as permits_app
from bastide.identity.cli import app as users_app

app = typer.Typer(help="Bastide: sovereign platform for national health data.", no_args_is_help=True,
                  pretty_exceptions_enable=False, add_completion=False)
app.add_typer(synth_app, name="synth")
app.add_typer(base_app, name="base")
app.add_typer(catalogue_app, name="catalogue")
app.add_typer(audit_app, name="audit")
app.add_typer(users_app, name="users")
app.add_typer(permits_app, name="permits")

SAMPLE = {"beneficiaries": 2000, "years": [2022, 2023, 2024], "seed": 42, "release": "sample"}


@app.command()
def init() -> None:
    """Create what is missing: keys (0600), the metadata database, the store."""
    with platform_session(init=True) as platform:
        console.print(f"ready: database {platform.db.engine.dialect.name}, store {platform.store.url}")


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
) -> None:
    """Initialise what is missing, load a synthetic SNDS sample if empty, serve API and pages."""
    import uvicorn

    from bastide.api.app import create_app

    with platform_session(init=True) as platform:
        if sample:
            _load_sample(platform)
        console.print(f"Bastide is up: http://{host}:{port}/  (API docs: http://{host}:{port}/docs)")
        uvicorn.run(create_app(platform), host=host, port=port, log_level="warning")


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

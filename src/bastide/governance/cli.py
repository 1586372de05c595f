"""`bastide permits`: export a signed data permit, verify one offline."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from bastide.cli.common import console, err, platform_session
from bastide.errors import DomainError
from bastide.governance import permits

app = typer.Typer(help="Signed data permits (EHDS Art. 68).", no_args_is_help=True)


@app.command("export")
def export(permit_id: int, out: Annotated[Path, typer.Option(help="File to write the signed permit to.")]) -> None:
    """Write a permit as a signed JSON file for its holder."""
    with platform_session() as platform, platform.db.unit_of_work() as session:
        permit = permits.get_permit(session, permit_id)
        out.write_text(permits.export(permit, platform.signer.public_pem()))
    console.print(f"wrote {out}")


@app.command("verify")
def verify(
    file: Annotated[Path, typer.Argument(help="A permit file from `bastide permits export`.")],
    public_key: Annotated[Path | None, typer.Option(help="The platform's public key (`bastide public-key`); "
                                                        "without it, this platform's own key is used.")] = None,
) -> None:
    """Check a permit's signature offline; exit 6 if it was altered."""
    try:
        text = file.read_text()
    except OSError as exc:
        err.print(f"[red]error:[/] cannot read {file}: {exc.strerror}")
        raise typer.Exit(2) from None
    if public_key is not None:
        pem = public_key.read_text()
    else:
        with platform_session() as platform:
            pem = platform.signer.public_pem()
    try:
        document = permits.verify_file(text, public_pem=pem)
    except DomainError as exc:
        err.print(f"[red]invalid:[/] {exc.message}")
        raise typer.Exit(6) from None
    console.print(f"[green]valid[/] {document['permit']} for {document['holder']['organisation']}, "
                  f"{document['data']['snapshot']}, until {document['valid_until'][:10]}")

"""`bastide permits`, `bastide register`, `bastide optout`: the operator's governance commands."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from bastide.cli.common import actor, console, err, platform_session
from bastide.errors import DomainError
from bastide.governance import optout, permits, register

register_app = typer.Typer(help="The public register of applications and permits (TRA-01…05, TRA-08).",
                           no_args_is_help=True)
optout_app = typer.Typer(help="The opt-out registry (GOV-16).", no_args_is_help=True)

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


@app.command("list")
def list_permits() -> None:
    """Every permit version with its state and validity."""
    from rich.table import Table

    with platform_session() as platform, platform.db.unit_of_work() as session:
        table = Table("id", "permit", "application", "holder", "state", "from", "until")
        for p in permits.list_permits(session):
            table.add_row(str(p.id), p.reference, p.application.reference, p.application.organisation.name, p.status,
                          str(p.valid_from.date()), str(p.valid_until.date()))
    console.print(table)


@app.command("expire")
def expire() -> None:
    """Expire the permits past their end date (the server does it every minute; this is for cron)."""
    with platform_session() as platform, platform.db.unit_of_work() as session:
        done = permits.expire_due(session)
        names = [p.reference for p in done]
    console.print(f"expired {len(names)} permit(s){': ' + ', '.join(names) if names else ''}")


@register_app.command("export")
def export_register(
    out: Annotated[Path, typer.Option(help="File to write.")],
    format: Annotated[str, typer.Option(help="csv or json.")] = "csv",
) -> None:
    """Write the public register as a downloadable file (TRA-08)."""
    import json

    if format not in ("csv", "json"):
        err.print(f"[red]error:[/] --format {format!r}: choose csv or json")
        raise typer.Exit(2)
    with platform_session() as platform, platform.db.unit_of_work() as session:
        rows = register.entries(session)
    out.write_text(register.to_csv(rows) if format == "csv" else json.dumps(rows, indent=2, ensure_ascii=False) + "\n")
    console.print(f"wrote {len(rows)} entries to {out}")


@optout_app.command("import")
def import_optouts(
    file: Annotated[Path, typer.Argument(help="One pseudonym per line, as delivered with the base: BEN_IDT_ANO (the "
                                              "person), or BEN_NIR_PSA (every person under it: twins share one).")],
) -> None:
    """Record the persons who objected; permits issued from now on leave them out."""
    try:
        lines = [line.strip() for line in file.read_text().splitlines() if line.strip()]
    except OSError as exc:
        err.print(f"[red]error:[/] cannot read {file}: {exc.strerror}")
        raise typer.Exit(2) from None
    with platform_session() as platform, platform.db.unit_of_work() as session:
        before = optout.count(session)
        for pseudonym in lines:
            optout.record_optout(session, actor=actor(), pseudonym=pseudonym)
        after = optout.count(session)
    console.print(f"{after - before} new opt-out(s), {after} in the registry")

"""`bastide sovereignty`: who answers for each part of this deployment."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from bastide.cli.common import console, err, lazy_module, platform_session

service = lazy_module("bastide.sovereignty.service")

app = typer.Typer(help="Who operates each endpoint of this deployment, under which law; what it runs (SBOM).",
                  no_args_is_help=True)


@app.command("report")
def report(
    as_json: Annotated[bool, typer.Option("--json", help="Print the signed report (JSON) instead of a table.")] = False,
    out: Annotated[Path | None, typer.Option(help="Also write the signed report (JSON) to this file.")] = None,
    strict: Annotated[bool, typer.Option(help="Exit 1 if an endpoint is outside the EU or not in the register "
                                              "(a deployment check).")] = False,
) -> None:
    """List every external endpoint (database, object store, backup store, HSM, mail relay, Spark
    cluster, public address) with the operator and jurisdiction the register
    (BASTIDE_SOVEREIGNTY_REGISTER) gives it, flag what is outside the EU or unknown, add the
    CycloneDX SBOM of the installed Python distributions, and sign it all."""
    with platform_session() as platform:
        document = service.report(platform)
        text = service.signed(platform, document)
    if out is not None:
        out.write_text(text)
    if as_json:
        typer.echo(text, nl=False)
    else:
        _print(document, out)
    if strict and document["flags"]:
        raise typer.Exit(1)


def _print(document: dict, out: Path | None) -> None:
    table = Table("endpoint", "address", "where", "operator", "jurisdiction", "qualification",
                  title="Sovereignty report")
    for row in document["endpoints"]:
        mark = {"ok": "", "unknown": "[yellow]? [/]", "outside_eu": "[red]✗ [/]"}[row["flag"]]
        table.add_row(row["kind"], f"{mark}{row['address']}", row["detail"], row["operator"] or "—",
                      row["jurisdiction"] or "—", row["qualification"] or "")
    console.print(table)
    components = document["sbom"]["components"]
    unlicensed = [c["name"] for c in components if not c.get("licenses")]
    console.print(f"SBOM: {len(components)} Python distributions (CycloneDX {document['sbom']['specVersion']})"
                  + (f", {len(unlicensed)} without a declared licence: {', '.join(unlicensed[:10])}" if unlicensed
                     else ", each with its licence"))
    for flag in document["flags"]:
        err.print(f"[yellow]flag:[/] {flag}", soft_wrap=True)
    if document["register"]["path"] is None:
        err.print("no register: set BASTIDE_SOVEREIGNTY_REGISTER to the operators' file (docs/operations.md)")
    if out is not None:
        console.print(f"signed report written to {out}")

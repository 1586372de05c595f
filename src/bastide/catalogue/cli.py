"""`bastide catalogue`: public metadata about datasets, snapshots, tables and variables."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer
from rich.table import Table

from bastide.catalogue import service as catalogue
from bastide.catalogue.dcat import export
from bastide.cli.common import console, human_bytes, platform_session

app = typer.Typer(help="Browse the catalogue (metadata only, never data).", no_args_is_help=True)


class Format(StrEnum):
    jsonld = "jsonld"
    turtle = "turtle"


@app.command("list")
def catalogue_list() -> None:
    """List datasets with their latest published snapshot."""
    with platform_session() as platform, platform.db.unit_of_work() as session:
        table = Table("dataset", "title", "snapshots", "latest", "rows")
        for ds in catalogue.list_datasets(session):
            snaps = catalogue.list_snapshots(session, ds)
            latest = snaps[-1] if snaps else None
            table.add_row(ds.name, ds.title, str(len(snaps)), latest.release if latest else "-",
                          f"{latest.rows:,}" if latest else "-")
        console.print(table)


@app.command("show")
def catalogue_show(
    name: Annotated[str, typer.Argument(help="A dataset (snds), a snapshot (snds@2024-12) or a table (snds@2024-12:ER_PRS_F).")],
) -> None:
    """Describe a dataset, a snapshot's tables, or a table's variables."""
    with platform_session() as platform, platform.db.unit_of_work() as session:
        if "@" not in name:
            ds = catalogue.get_dataset(session, name)
            console.print(f"[bold]{ds.name}[/] — {ds.title}\n{ds.description}")
            for s in catalogue.list_snapshots(session, ds):
                console.print(f"  {s.ref}: {len(s.tables)} tables, {s.rows:,} rows, {human_bytes(s.bytes)}")
            return
        ref, _, table_name = name.partition(":")
        snapshot = catalogue.get_snapshot(session, ref)
        if not table_name:
            table = Table("table", "title", "partitioning", "rows", "size", "files", title=snapshot.ref)
            for t in snapshot.tables:
                table.add_row(t.name, t.title, t.partitioning or "-", f"{t.rows:,}", human_bytes(t.bytes), str(t.files))
            console.print(table)
            console.print(f"merkle root {snapshot.merkle_root}")
            return
        t = catalogue.get_table(snapshot, table_name)
        table = Table("#", "variable", "type", "length", "nomenclature", "description", title=f"{snapshot.ref} {t.name}")
        for v in t.variables:
            table.add_row(str(v.position), v.name, v.type, v.length, v.nomenclature, v.description)
        console.print(table)


@app.command("export")
def catalogue_export(
    name: Annotated[str, typer.Argument(help="Dataset name, e.g. snds.")],
    format: Annotated[Format, typer.Option("--format", help="jsonld or turtle.")] = Format.jsonld,
) -> None:
    """Print the HealthDCAT-AP description of a dataset (with its CSVW variable list)."""
    with platform_session() as platform, platform.db.unit_of_work() as session:
        s = platform.settings
        text = export(catalogue.get_dataset(session, name), fmt=format.value, base_iri=s.catalogue_base_iri,
                      publisher=s.catalogue_publisher, email=s.catalogue_contact_email,
                      namespace=s.healthdcatap_namespace)
    typer.echo(text)

"""Build an extract: the cohort once, then each permitted table filtered, minimised,
pseudonymised and written as Parquet encrypted with the workspace's key, with a manifest
that lets it be rebuilt bit for bit (snapshot, permit version, spec and its hash, rows, files).

The SQL is not kept: it carries material derived from the project's pseudonym key; the spec
and the key recompile it."""

from __future__ import annotations

import hashlib
import json
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
from sqlalchemy.orm import Session

from bastide.analytics.pmsi import YEAR, sql_type  # YEAR: a PMSI table's year, from its files' partition
from bastide.base.deviations import ARCHIVES  # a referential, and the archive of rows it no longer holds
from bastide.catalogue.models import Snapshot
from bastide.errors import IntegrityError, InvalidInput
from bastide.keys.base import KeyManager
from bastide.storage import ObjectStore
from bastide.workspaces.compile import (CLAIMS, COHORT, OPTOUT, PROFESSIONALS, VISITS, claims_sql, cohort_sql,
                                       professionals_sql, table_plan)
from bastide.query.engine import QueryEngine
from bastide.workspaces.identities import IDENTITIES, identities_sql
from bastide.query.source import SnapshotFiles, open_table, snapshot_files
from bastide.workspaces.spec import ExtractSpec

FORMAT = "bastide-extract/1"
MANIFEST = "EXTRACT.json"
# read to resolve the cohort and to link detail tables, whether or not the permit extracts them
LINK_TABLES = ("IR_BEN_R", "IR_BEN_R_ARC", "ER_PRS_F", "ER_PHA_F", "IR_PHA_R", "IR_CIP_V", "T_MCOaaA", "T_MCOaaB",
               "T_MCOaaC", "T_MCOaaD", "T_MCOaaUM", VISITS)


@dataclass(frozen=True)
class Target:
    store: ObjectStore
    prefix: str  # workspaces/<id>/extract/v<n>
    key_id: str
    key: bytes
    batch_rows: int = 262_144
    parts: int = 2  # files written side by side per table (DuckDB; Spark writes one per task)


def build(session: Session, *, engine: QueryEngine, store: ObjectStore, keys: KeyManager, snapshot: Snapshot,
          spec: ExtractSpec, pseudonym_key: bytes, excluded: list[str], target: Target,
          progress: Callable[[str], None] = lambda _msg: None) -> dict:
    files = snapshot_files(store, snapshot)
    if spec.merkle_root != snapshot.merkle_root:
        raise IntegrityError(f"the permit pins {spec.snapshot} to another Merkle root than the published one")
    missing = sorted(set(spec.tables) - files.tables)
    if missing:
        raise InvalidInput(f"{spec.snapshot} has no tables {missing}", code="release_lacks_tables",
                           details={"release": spec.snapshot, "missing": missing})
    schemas = register_sources(session, engine=engine, store=store, keys=keys, files=files,
                               tables=sorted(set(spec.tables) | (set(LINK_TABLES) & files.tables)), years=spec.years,
                               last_flux_month=spec.last_flux_month)
    engine.register(OPTOUT, pa.table({"pseudonym": pa.array(excluded, pa.string())}))
    progress("resolving the cohort")
    if "IR_BEN_R" not in schemas:
        raise InvalidInput(f"{spec.snapshot} has no IR_BEN_R: its persons cannot be identified",
                           code="persons_unidentified", details={"release": spec.snapshot})
    engine.materialise(IDENTITIES, identities_sql(schemas["IR_BEN_R"].names, '"src_IR_BEN_R"'))
    persons = engine.materialise(COHORT, cohort_sql(spec, schemas, pseudonym_key, engine.dialect))
    for name, sql in ((CLAIMS, claims_sql(spec, schemas, pseudonym_key, engine.dialect)),
                      (PROFESSIONALS, professionals_sql(spec, schemas, pseudonym_key, engine.dialect))):
        if sql is not None:  # computed once, met by every table that needs it
            engine.materialise(name, sql)
    # every table planned before any is written: one that cannot be linked stops the extract first
    present = frozenset(schemas)
    plans = {t: table_plan(t, schemas[t], spec, pseudonym_key, engine.dialect, present=present) for t in spec.tables}
    tables, entries = {}, []
    for done, (table, plan) in enumerate(plans.items()):
        progress(f"extracting {table} ({done + 1} of {len(spec.tables)})")
        columns, written = _write(engine, plan.sql, target, table)
        tables[table] = {"rows": sum(e["rows"] for e in written), "link": plan.link,
                         "columns": columns, "files": [e["path"] for e in written]}
        entries += written
    body = {"format": FORMAT, "permit": spec.permit, "snapshot": spec.snapshot, "merkle_root": spec.merkle_root,
            "spec": json.loads(spec.canonical()), "spec_sha256": spec.digest, "engine": engine.dialect.name,
            "cohort": persons,
            "tables": tables, "files": entries}
    raw = (json.dumps(body, indent=1, sort_keys=True) + "\n").encode()
    target.store.put_bytes(f"{target.prefix}/{MANIFEST}", raw)
    return {**body, "manifest_sha256": hashlib.sha256(raw).hexdigest()}




def register_sources(session: Session, *, engine: QueryEngine, store: ObjectStore, keys: KeyManager,
                     files: SnapshotFiles, tables: list[str], years: tuple[int, ...],
                     last_flux_month: str = "") -> dict[str, pa.Schema]:
    """Each table of the snapshot as the view `src_<TABLE>`, read where it lies, and its schema.
    A table stored by year (PMSI) gets its year as a column: a stay is (year, ETA_NUM, RSA_NUM),
    since RSA_NUM numbers the stays of one year (documentation-snds, PMSI MCO), and the year is
    only in the files' partition."""
    schemas = {}
    archived = {t: a for t, a in ARCHIVES.items() if t in tables and a in tables}
    for table in tables:
        name = f"src_{table}" + ("__current" if table in archived else "")  # the archive's view takes the name
        chosen = files.of(table, years, last_flux_month)
        if not chosen:  # no file in the years (a PMSI table that began later): its columns, no rows
            every = files.of(table)
            schema = open_table(session, store=store, keys=keys, files=every).schema
            schema = schema.append(pa.field(YEAR, pa.int32())) if _years(every) else schema
            engine.register(name, schema.empty_table())
            schemas[table] = schema
            continue
        by_year = _years(chosen)
        if by_year is None:
            source = open_table(session, store=store, keys=keys, files=chosen)
            engine.register_source(name, source)
            schemas[table] = source.schema
            continue
        schemas[table] = _register_yearly(session, engine, store, keys, table, by_year)
    for table, archive in archived.items():
        engine.define_view(f"src_{table}", with_archive(table, schemas[table], archive, schemas[archive]))
    return schemas


def _register_yearly(session: Session, engine: QueryEngine, store: ObjectStore, keys: KeyManager, table: str,
                     by_year: dict[int, list]) -> pa.Schema:
    """`src_<TABLE>`: each year's files with their year as a column; the schema with the year.
    Years may have been delivered with other columns (a schema drift accepted in one release):
    the table has every year's columns, each year giving NULL for those it lacks and its own
    values cast to the column's common type (Spark reads each year's files as they are, so a
    `SELECT *` of years with other columns would not line up)."""
    own = {year: open_table(session, store=store, keys=keys, files=entries) for year, entries in by_year.items()}
    schema = pa.unify_schemas([source.schema for source in own.values()], promote_options="permissive")
    parts = []
    for year, source in sorted(own.items()):
        engine.register_source(f"src_{table}__{year}", source)
        cells = [_cell(f, source.schema) for f in schema]
        parts.append(f'SELECT {", ".join(cells)}, {year} AS "{YEAR}" FROM "src_{table}__{year}"')
    engine.define_view(f"src_{table}", " UNION ALL ".join(parts))
    return schema.append(pa.field(YEAR, pa.int32()))


def _cell(field: pa.Field, own: pa.Schema) -> str:
    """One column of the common schema in a year's SELECT: as it is, cast to the common type, or NULL."""
    if field.name not in own.names:
        return f'CAST(NULL AS {sql_type(field.type)}) AS "{field.name}"'
    if own.field(field.name).type != field.type:
        return f'CAST("{field.name}" AS {sql_type(field.type)}) AS "{field.name}"'
    return f'"{field.name}"'


def with_archive(table: str, schema: pa.Schema, archive: str, archived: pa.Schema) -> str:
    """The referential and the rows of its archive it no longer holds, read as one table with the
    referential's columns: a person's older pseudo-NIRs may be only in IR_BEN_R_ARC (guide CépiDc,
    chapters 3 and 4: look for BEN_IDT_ANO in IR_BEN_R, then in IR_BEN_R_ARC; fiches/
    sas_prestation_dcir.md joins the prestations to « IR_BEN_R, IR_BEN_R_ARC »)."""
    cells = ", ".join(_cell(f, archived) for f in schema)
    current = f'"src_{table}__current"'
    gone = (f"NOT EXISTS (SELECT 1 FROM {current} AS c WHERE c.BEN_NIR_PSA = a.BEN_NIR_PSA "
            "AND c.BEN_RNG_GEM = a.BEN_RNG_GEM)")
    return f'SELECT * FROM {current} UNION ALL SELECT {cells} FROM "src_{archive}" AS a WHERE {gone}'


def _years(entries: list) -> dict[int, list] | None:
    """The files by the year of their partition, if the table is stored by year, else None."""
    if not entries or not all(e.partition and e.partition.startswith("year=") for e in entries):
        return None
    by_year: dict[int, list] = {}
    for entry in entries:
        by_year.setdefault(int(entry.partition.split("=", 1)[1]), []).append(entry)
    return by_year


def _write(engine: QueryEngine, sql: str, target: Target, table: str) -> tuple[list[str], list[dict]]:
    """The table written by the engine into a scratch folder, then put and read back as ingest does."""
    with tempfile.TemporaryDirectory() as tmp:
        written = engine.write_parquet(sql, Path(tmp), key_id=target.key_id, key=target.key,
                                       batch_rows=target.batch_rows, parts=target.parts)
        return written.columns, [_publish(path, rows, target, table) for path, rows in written.files]


def _publish(local: Path, rows: int, target: Target, table: str) -> dict:
    key = f"{target.prefix}/{table}/{local.name}"
    with open(local, "rb") as fh:
        digest = hashlib.file_digest(fh, "sha256").hexdigest()
    target.store.put_file(local, key)
    if target.store.sha256(key)[0] != digest:
        raise IntegrityError(f"{key} changed while it was written to the store", details={"file": key})
    return {"path": key, "table": table, "rows": rows, "sha256": digest, "key_id": target.key_id}

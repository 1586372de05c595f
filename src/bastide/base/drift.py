"""Schema drift: a producer adds or drops columns between two releases (ER_DCT_F.DCT_FOR_AMO
appears, ER_PRS_F.PRS_PPU_SEC goes). Rejected by default, each drifted column named in the report;
`--schema-drift accept` publishes the table with the columns it was delivered with: added ones as
text (their type is not known), dropped ones absent. The snapshot's manifest and the catalogue
then record the schema actually delivered, release by release. A table's keys — its primary key,
the columns its foreign keys join on, its partition column — are never accepted missing: the
joins and partitions of every later step rest on them."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace

import pyarrow.parquet as pq

from bastide.base.delivery import DeliveredFolder, read_header
from bastide.base.schema import FLUX_COLUMN, Column, DeliveredTable, TableSchema
from bastide.errors import InvalidInput

POLICIES = ("reject", "accept")
DRIFT_HINT = "; if the producer changed its columns, `--schema-drift accept` publishes them as delivered"


@dataclass(frozen=True)
class Drift:
    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.added or self.removed)

    def to_dict(self) -> dict:
        return {"added": list(self.added), "removed": list(self.removed)}


def check_policy(policy: str) -> str:
    if policy not in POLICIES:
        raise InvalidInput(f"unsupported --schema-drift {policy!r}: use reject or accept")
    return policy


def essential(schema: TableSchema) -> set[str]:
    """The columns a delivery of the table cannot go without."""
    keys = set(schema.primary_key) | {f for fk in schema.foreign_keys if fk.kind == "table" for f in fk.fields}
    return keys | ({FLUX_COLUMN} if schema.partitioning == "flx_month" else set())


def drift_of(schema: TableSchema, delivered: list[str]) -> Drift:
    declared = schema.column_names
    return Drift(tuple(c for c in delivered if c not in declared), tuple(c for c in declared if c not in delivered))


def delivered_schema(schema: TableSchema, drift: Drift) -> TableSchema:
    """The schema with the delivered columns: its own, less the removed, then the added as text."""
    kept = [c for c in schema.columns if c.name not in drift.removed]
    added = [Column(name=n, type="string", description=f"delivered without a declaration in {schema.name}'s schema")
             for n in drift.added]
    digest = hashlib.sha256(f"{schema.schema_hash}|+{','.join(drift.added)}|-{','.join(drift.removed)}".encode())
    keys = tuple(fk for fk in schema.foreign_keys if not set(fk.fields) & set(drift.removed))
    return replace(schema, columns=tuple(kept + added), foreign_keys=keys, schema_hash=digest.hexdigest())


def _delivered_columns(folder: DeliveredFolder, encoding: str, delimiter: str) -> list[str] | None:
    """The first file's column names; None when it cannot be read (staging reports why)."""
    first = folder.files[0]
    try:
        if folder.format == "parquet":
            return pq.read_schema(first).names
        return read_header(first, encoding, delimiter)[0]
    except (InvalidInput, OSError, ValueError):
        return None


def accept_drift(folders: list[DeliveredFolder], *, encoding: str, delimiter: str
                 ) -> tuple[list[DeliveredFolder], dict[str, Drift]]:
    """Each folder whose columns drifted, given the schema it was delivered with (unless it lacks
    a key: staging then reports the missing key), and the drift of each."""
    out, drifts = [], {}
    for folder in folders:
        schema = folder.table.schema
        columns = _delivered_columns(folder, encoding, delimiter)
        drift = drift_of(schema, columns) if columns and len(columns) > 1 else Drift()
        if not drift or set(drift.removed) & essential(schema) or len(set(columns)) != len(columns):
            out.append(folder)
            continue
        drifts[folder.name] = drift
        table = DeliveredTable(folder.table.folder, delivered_schema(schema, drift), folder.table.year)
        out.append(DeliveredFolder(table, folder.files))
    return out, drifts

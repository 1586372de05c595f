"""The schema registry: Frictionless Table Schemas (the real schema-snds files, or any
other dataset's) loaded into typed objects that ingest, validation and the catalogue use.

PMSI tables are yearly (`T_MCO22B` in a delivery is table `T_MCOaaB`, year 2022);
Bastide keeps one table per PMSI product partitioned by year, as SCALPEL flattening does.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from bastide.base.deviations import added, corrected
from bastide.errors import InvalidInput, NotFound

SNDS_SCHEMA_DIR = Path(__file__).parent / "snds_schema" / "schemas"
SNDS_NOMENCLATURE_DIR = Path(__file__).parent / "snds_schema" / "nomenclatures"
NOMENCLATURE = "NOMENCLATURE"
FLUX_COLUMN = "FLX_DIS_DTD"

# Table Schema type -> DuckDB type read from the CSV. Non-default date formats are read
# as text and parsed with strptime so that a bad value is reported, not guessed.
DUCKDB_TYPES = {
    "string": "VARCHAR",
    "integer": "BIGINT",
    "number": "DOUBLE",
    "date": "DATE",
    "datetime": "TIMESTAMP",
    "boolean": "BOOLEAN",
    "year": "INTEGER",
    "yearmonth": "VARCHAR",
}


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    length: str = ""
    format: str = "default"
    description: str = ""
    nomenclature: str = ""
    constraints: dict = field(default_factory=dict, hash=False, compare=False)

    @property
    def duckdb_type(self) -> str:
        return DUCKDB_TYPES.get(self.type, "VARCHAR")

    @property
    def parsed_with_format(self) -> bool:
        return self.type in ("date", "datetime") and self.format not in ("default", "", "any", None)

    @property
    def read_type(self) -> str:
        return "VARCHAR" if self.parsed_with_format else self.duckdb_type

    @property
    def nomenclature_table(self) -> str:
        """`IR_BER_V:BEN_RNG_GEM` names a table and its column; `IR_NAT_V` only the table."""
        return self.nomenclature.partition(":")[0]

    @property
    def max_length(self) -> int | None:
        """Declared length (digits for integers, characters for text)."""
        if self.type not in ("string", "integer") or not self.length:
            return None
        head = str(self.length).split(",")[0].strip()
        return int(head) if head.isdigit() else None


@dataclass(frozen=True)
class ForeignKey:
    fields: tuple[str, ...]
    table: str
    ref_fields: tuple[str, ...]
    kind: str = "table"  # or "nomenclature": a code that must exist in a delivered referential
    unlinked: tuple[str, ...] = ()  # values that name nothing, never looked for (base.deviations)


@dataclass(frozen=True)
class TableSchema:
    name: str
    title: str
    product: str
    columns: tuple[Column, ...]
    primary_key: tuple[str, ...]
    foreign_keys: tuple[ForeignKey, ...]
    missing_values: tuple[str, ...]
    schema_hash: str
    yearly: bool = False

    def column(self, name: str) -> Column:
        for col in self.columns:
            if col.name == name:
                return col
        raise NotFound(f"table {self.name} has no column {name}")

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def partitioning(self) -> str | None:
        """`year` for yearly PMSI tables, `flx_month` for DCIR flows, None otherwise."""
        if self.yearly:
            return "year"
        if any(c.name == FLUX_COLUMN for c in self.columns):
            return "flx_month"
        return None


def _as_tuple(value) -> tuple[str, ...]:
    if value is None:
        return ()
    return (value,) if isinstance(value, str) else tuple(value)


def parse_table_schema(raw: dict, *, default_name: str, product: str = "") -> TableSchema:
    if not isinstance(raw, dict) or not isinstance(raw.get("fields"), list) or not raw["fields"]:
        raise InvalidInput(f"schema {default_name} is not a Table Schema: it needs a non-empty `fields` list")
    columns = []
    for item in raw["fields"]:
        if not isinstance(item, dict) or not item.get("name"):
            raise InvalidInput(f"schema {default_name}: every field needs a name")
        columns.append(
            Column(
                name=item["name"],
                type=item.get("type", "string"),
                length=str(item.get("length") or ""),
                format=item.get("format") or "default",
                description=item.get("description", ""),
                nomenclature="" if item.get("nomenclature") in (None, "-") else item["nomenclature"],
                constraints=item.get("constraints") or {},
            )
        )
    fks = tuple(
        ForeignKey(_as_tuple(fk["fields"]), fk["reference"]["resource"], _as_tuple(fk["reference"].get("fields")))
        for fk in raw.get("foreignKeys", [])
        if fk.get("reference", {}).get("resource")
    )
    name = raw.get("name") or default_name
    canonical = json.dumps(raw, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    return TableSchema(
        name=name,
        title=raw.get("title", name),
        product=raw.get("produit", product),
        columns=tuple(columns),
        primary_key=_as_tuple(raw.get("primaryKey")),
        foreign_keys=fks,
        missing_values=tuple(raw.get("missingValues", [""])),
        schema_hash=hashlib.sha256(canonical).hexdigest(),
        yearly="aa" in name and raw.get("produit", "").startswith("PMSI"),
    )


@dataclass(frozen=True)
class DeliveredTable:
    """A folder of a delivery, resolved to its schema (and year, for PMSI)."""

    folder: str
    schema: TableSchema
    year: int | None = None


class SchemaRegistry:
    def __init__(self, tables: dict[str, TableSchema], source: str):
        self.tables, self.source = tables, source
        self._yearly = [(re.compile("^" + re.escape(n).replace("aa", r"(\d{2})", 1) + "$"), t)
                        for n, t in tables.items() if t.yearly]

    def get(self, name: str) -> TableSchema:
        try:
            return self.tables[name]
        except KeyError:
            raise NotFound(f"no table {name} in the {self.source} schema") from None

    def resolve(self, folder: str) -> DeliveredTable:
        """Map a delivered table name (T_MCO22B) to its schema (T_MCOaaB, year 2022)."""
        if folder in self.tables:
            return DeliveredTable(folder, self.tables[folder])
        for pattern, table in self._yearly:
            match = pattern.match(folder)
            if match:
                return DeliveredTable(folder, table, 2000 + int(match.group(1)))
        raise InvalidInput(
            f"unknown table {folder}: it is not in the {self.source} schema",
            details={"table": folder, "rule": "unknown_table"},
        )

    def links(self, schema: TableSchema) -> tuple[ForeignKey, ...]:
        """Declared foreign keys, plus each column's nomenclature when the registry knows it."""
        extra = []
        for col in schema.columns:
            ref = self.tables.get(col.nomenclature_table)
            if ref is None or ref.product != NOMENCLATURE or len(ref.primary_key) != 1:
                continue
            code = col.nomenclature.partition(":")[2] or ref.primary_key[0]
            extra.append(ForeignKey((col.name,), ref.name, (code,), kind="nomenclature"))
        return schema.foreign_keys + tuple(extra)



def _load_tables(path: Path, product: str = "") -> dict[str, TableSchema]:
    path = Path(path)
    files = [path] if path.is_file() else sorted(path.rglob("*.json"))
    if not files:
        raise InvalidInput(f"no Table Schema (*.json) found at {path}")
    tables = {}
    for file in files:
        try:
            raw = json.loads(file.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise InvalidInput(f"schema file {file} cannot be read: {exc}") from exc
        schema = parse_table_schema(raw, default_name=file.stem, product=product)
        tables[schema.name] = schema
    return tables


def load_schema_dir(path: Path, source: str) -> SchemaRegistry:
    return SchemaRegistry(_load_tables(path), source)


@cache
def snds_registry() -> SchemaRegistry:
    """The 188 schema-snds tables, with the real base's departures from them (base.deviations),
    and the nomenclatures shipped with them."""
    tables = {name: corrected(t) for name, t in _load_tables(SNDS_SCHEMA_DIR).items()}
    tables.update(added(tables))
    return SchemaRegistry({**tables, **_load_tables(SNDS_NOMENCLATURE_DIR, NOMENCLATURE)}, "SNDS")

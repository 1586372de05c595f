"""A materialised flat DCIR, written one flux month after another (SCALPEL's time slices): each
slice registers only that month's files of ER_PRS_F and of each detail table (a month of the
base is a folder, flx_month=YYYY-MM), joins them, and writes the result as that month's folder,
encrypted under the data key given. No join ever holds more than a month, and no slice opens
another month's files (at national scale, opening every file of a year for each month cost
more than the join). Runs on either engine."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path

import pyarrow as pa
from sqlalchemy.orm import Session

from bastide.analytics.dcir import DETAIL_TABLES, DcirFilters, flat_dcir_sql
from bastide.keys.base import KeyManager
from bastide.storage import ObjectStore
from bastide.query.engine import QueryEngine
from bastide.query.parts import Written
from bastide.query.source import ParquetSource, SnapshotFiles, open_table

TABLES = ("ER_PRS_F", *DETAIL_TABLES)


def months_of(year: int, *, care_year: bool = False) -> list[date]:
    """The flux months of a year, or the 18 that hold a care year (to June of the next)."""
    count = 18 if care_year else 12
    return [date(year + m // 12, m % 12 + 1, 1) for m in range(count)]


Slice = ParquetSource | pa.Table | None  # a table's month: its files, rows in hand, or nothing


def flatten_dcir(engine: QueryEngine, *, month: Callable[[str, date], Slice], schemas: dict[str, pa.Schema],
                 months: list[date], folder: Path, key_id: str, key: bytes, filters: DcirFilters = DcirFilters(),
                 parts: int = 2) -> dict[date, Written]:
    """`month(table, m)` gives a table's month m; `schemas` the tables to flatten, so that a
    month without some detail table still has its columns."""
    columns = {t: s.names for t, s in schemas.items()}
    written = {}
    for m in months:
        for table, schema in schemas.items():
            part = month(table, m)
            if isinstance(part, ParquetSource):
                engine.register_source(table, part)
            else:
                engine.register(table, schema.empty_table() if part is None else part)
        target = folder / f"flx_month={m:%Y-%m}"
        target.mkdir(parents=True)
        written[m] = engine.write_parquet(flat_dcir_sql(columns, filters=filters, flux_month=m), target,
                                          key_id=key_id, key=key, batch_rows=262_144, parts=parts)
    return written


def snapshot_months(session: Session, *, store: ObjectStore, keys: KeyManager, files: SnapshotFiles,
                    tables: tuple[str, ...] = TABLES) -> tuple[Callable[[str, date], Slice], dict[str, pa.Schema]]:
    """A published snapshot's months, as `flatten_dcir` takes them, and its tables' schemas."""
    present = [t for t in tables if files.of(t)]
    schemas = {t: open_table(session, store=store, keys=keys, files=files.of(t)[:1]).schema for t in present}

    def month(table: str, m: date) -> Slice:
        chosen = files.of_month(table, f"{m:%Y-%m}")
        return open_table(session, store=store, keys=keys, files=chosen) if chosen else None

    return month, schemas

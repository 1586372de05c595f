"""A materialised flat DCIR, written one flux month after another (SCALPEL's time slices): each
slice joins one month of ER_PRS_F with the same month of each detail table, so that no join
ever holds more than a month, and the result is partitioned as the base is (flx_month=YYYY-MM),
encrypted under the data key given. Runs on either engine (the tables registered under their names)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from bastide.analytics.dcir import DcirFilters, flat_dcir_sql
from bastide.analytics.sql import Columns
from bastide.workspaces.engine import QueryEngine
from bastide.workspaces.parts import Written


def months_of(year: int, *, care_year: bool = False) -> list[date]:
    """The flux months of a year, or the 18 that hold a care year (to June of the next)."""
    count = 18 if care_year else 12
    return [date(year + m // 12, m % 12 + 1, 1) for m in range(count)]


def flatten_dcir(engine: QueryEngine, *, columns: Columns, months: list[date], folder: Path, key_id: str, key: bytes,
                 filters: DcirFilters = DcirFilters(), parts: int = 2) -> dict[date, Written]:
    written = {}
    for month in months:
        target = folder / f"flx_month={month:%Y-%m}"
        target.mkdir(parents=True)
        written[month] = engine.write_parquet(flat_dcir_sql(columns, filters=filters, flux_month=month), target,
                                              key_id=key_id, key=key, batch_rows=262_144, parts=parts)
    return written

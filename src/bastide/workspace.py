"""Inside a workspace job: open the extract's tables.

    from bastide import workspace
    ben = workspace.table("IR_BEN_R")            # a pyarrow Table
    con = workspace.duckdb()                     # DuckDB with every table as a view
    con.sql("SELECT count(*) FROM ER_PRS_F").show()
    codes = workspace.imported("codelist.csv")   # an approved import

Write results under the current folder (/out): each file is registered with its provenance."""

from __future__ import annotations

import os
from pathlib import Path

DATA = Path(os.environ.get("BASTIDE_DATA", "/data"))


def imported(name: str) -> Path:
    """A file brought in through the import lane once a checker approved it (read-only)."""
    return DATA / "imports" / name


def tables() -> list[str]:
    return sorted(p.stem for p in DATA.glob("*.parquet"))


def table(name: str):
    import pyarrow.parquet as pq

    return pq.read_table(DATA / f"{name}.parquet")


def duckdb():
    import duckdb as _duckdb

    con = _duckdb.connect()
    for name in tables():
        con.execute(f"CREATE VIEW \"{name}\" AS SELECT * FROM read_parquet('{DATA / name}.parquet')")
    return con

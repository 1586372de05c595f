"""Inside a workspace job: open the extract's tables.

    from bastide import workspace
    ben = workspace.table("IR_BEN_R")            # a pyarrow Table
    con = workspace.duckdb()                     # DuckDB with every table as a view
    con.sql("SELECT count(*) FROM ER_PRS_F").show()
    con.sql("SELECT category, count(*) FROM events GROUP BY 1").show()  # the analytics layer
    stays = workspace.view("mco_stays")           # a view as a pyarrow Table
    codes = workspace.imported("codelist.csv")   # an approved import
    workspace.release_table(df, ["BEN_SEX_COD"], name="paid.csv", value="PRS_PAI_MNT")  # checkable by the airlock

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
    """DuckDB with every table as a view, and the analytics layer's views over them (dcir_flat,
    dcir_care_year, drug_dispensations, mco_stays, mco_flat, events: docs/analytics.md)."""
    import duckdb as _duckdb
    import pyarrow.parquet as pq

    from bastide.analytics.views import workspace_views
    from bastide.workspaces.dialect import DUCKDB

    con = _duckdb.connect()
    for name in tables():
        con.execute(f"CREATE VIEW \"{name}\" AS SELECT * FROM read_parquet('{DATA / name}.parquet')")
    for name, sql in workspace_views({t: pq.read_schema(DATA / f"{t}.parquet") for t in tables()}, DUCKDB):
        con.execute(f'CREATE VIEW "{name}" AS {sql}')
    return con


def view(name: str):
    """An analytics view (`events`, `dcir_flat`, `mco_stays`…) as a pyarrow Table."""
    return duckdb().sql(f'SELECT * FROM "{name}"').to_arrow_table()


def release_table(data, by: list[str], *, name: str, value: str | None = None, contributor: str | None = None,
                  persons: str | None = None) -> Path:
    """Aggregate microdata (a pandas DataFrame) into a table the airlock can check, in the outputs.

    Per cell of `by`: `n`, the rows (or the distinct values of `persons`) and, with `value`, its
    `total`. The two largest contributions (per `contributor` if given, else per row) go beside
    it in `<name>.sdc.csv`, evidence for the dominance rules that never leaves the workspace, and
    the structure in `<name>.sdc.json`. Returns the table's path."""
    import json

    import pandas as pd

    groups = data.groupby(by, dropna=False, observed=True)
    table = (groups[persons].nunique() if persons else groups.size()).rename("n").reset_index()
    declared: dict = {"dimensions": list(by), "count": "n"}
    path = Path(name)
    if value:
        table = table.merge(groups[value].sum().rename("total").reset_index(), on=list(by))
        declared["total"] = "total"
        per = data.groupby([*by, contributor], dropna=False, observed=True)[value].sum().reset_index() \
            if contributor else data[[*by, value]]

        def largest(values) -> pd.Series:
            ranked = sorted(values, reverse=True) + [0.0, 0.0]
            return pd.Series({"top1": ranked[0], "top2": ranked[1]})

        evidence = per.groupby(by, dropna=False, observed=True)[value].apply(largest).unstack().reset_index()
        evidence.to_csv(f"{name}.sdc.csv", index=False)
    table.to_csv(path, index=False)
    Path(f"{name}.sdc.json").write_text(json.dumps(declared))
    return path

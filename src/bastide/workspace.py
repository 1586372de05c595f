"""Inside a workspace job: open the extract's tables.

    from bastide import workspace
    rows = workspace.sql("SELECT category, count(*) AS n FROM events GROUP BY 1")  # a pyarrow Table
    ben = workspace.table("IR_BEN_R")            # a pyarrow Table
    stays = workspace.view("mco_stays")           # an analytics view as a pyarrow Table
    con = workspace.duckdb()                     # DuckDB with every table as a view (DuckDB workspaces)
    con.sql("SELECT count(*) FROM ER_PRS_F").show()
    codes = workspace.imported("codelist.csv")   # an approved import
    workspace.release_table(df, ["BEN_SEX_COD"], name="paid.csv", value="PRS_PAI_MNT")  # checkable by the airlock

`sql`, `table`, `view` and `tables` work on both engines. On a DuckDB workspace the job reads
the extract's encrypted files (/extract), decrypting as it reads with the key it is given; on a
Spark workspace the extract stays in the cluster and each `sql()` is one read-only query the
platform runs there, through a socket: its result comes back (at most the platform's
job_result_rows rows), so aggregate in SQL and model in Python.

Write results under the current folder (/out): each file is registered with its provenance."""

from __future__ import annotations

import json
import os
import socket
from functools import cache
from pathlib import Path

DATA = Path(os.environ.get("BASTIDE_DATA", "/data"))
EXTRACT = os.environ.get("BASTIDE_EXTRACT")  # the extract's tables and key, in a DuckDB workspace's jobs
ENGINE_SOCKET = os.environ.get("BASTIDE_ENGINE_SOCKET")  # set in a Spark workspace's jobs


class QueryError(Exception):
    """The platform refused or failed a query; the message says why."""


def imported(name: str) -> Path:
    """A file brought in through the import lane once a checker approved it (read-only)."""
    return DATA / "imports" / name


def sql(query: str):
    """The result of one read-only query over the tables and the analytics views, as a pyarrow Table."""
    if ENGINE_SOCKET:
        return _ask({"sql": query})
    return _shared().sql(query).to_arrow_table()


@cache
def _shared():
    """One connection for a job's `sql()` calls: its views are defined once, not per query."""
    return duckdb()


@cache
def _datasets() -> dict:
    """The extract's tables as pyarrow datasets that decrypt as they are read."""
    import pyarrow.dataset as ds

    from bastide.keys.parquet import decryption_properties

    spec = json.loads(Path(EXTRACT).read_text())
    keys = {key_id: bytes.fromhex(key) for key_id, key in spec["keys"].items()}
    fmt = ds.ParquetFileFormat(default_fragment_scan_options=ds.ParquetFragmentScanOptions(
        decryption_properties=decryption_properties(keys)))
    root = Path(spec["root"])
    return {name: ds.dataset([str(root / f) for f in files], format=fmt) for name, files in spec["tables"].items()}


def tables() -> list[str]:
    if ENGINE_SOCKET:
        return _ask({"tables": True})
    return sorted(_datasets())


def table(name: str):
    if ENGINE_SOCKET:
        return sql(f'SELECT * FROM "{name}"')
    return _datasets()[name].to_table()


def view(name: str):
    """An analytics view (`events`, `dcir_flat`, `mco_stays`…) as a pyarrow Table."""
    return sql(f'SELECT * FROM "{name}"')


def duckdb():
    """DuckDB with every table as a view, and the analytics layer's views over them (dcir_flat,
    dcir_care_year, drug_dispensations, mco_stays, mco_flat, events: docs/analytics.md)."""
    if ENGINE_SOCKET:
        raise QueryError("this workspace runs on Spark: its tables stay in the cluster; query them with "
                         "workspace.sql(...), which returns a pyarrow Table (duckdb.from_arrow() takes it)")
    import duckdb as _duckdb

    from bastide.analytics.views import workspace_views
    from bastide.query.dialect import DUCKDB

    con = _duckdb.connect()
    for name, dataset in _datasets().items():
        con.register(name, dataset)
    for name, view_sql in workspace_views({t: d.schema for t, d in _datasets().items()}, DUCKDB):
        con.execute(f'CREATE VIEW "{name}" AS {view_sql}')
    return con


def _ask(request: dict):
    """One request to the platform's engine gateway (src/bastide/workspaces/gateway.py)."""
    import pyarrow as pa

    body = json.dumps(request).encode()
    with socket.socket(socket.AF_UNIX) as channel:
        channel.connect(ENGINE_SOCKET)
        channel.sendall(len(body).to_bytes(4, "big") + body)
        with channel.makefile("rb") as answer:
            header = json.loads(answer.readline() or b'{"ok": false, "error": "the platform closed the connection"}')
            if not header["ok"]:
                raise QueryError(header["error"])
            if "tables" in header:
                return header["tables"]
            return pa.ipc.open_stream(answer).read_all()


def release_table(data, by: list[str], *, name: str, value: str | None = None, contributor: str | None = None,
                  persons: str | None = None, statistic: str = "sum") -> Path:
    """Aggregate microdata (a pandas DataFrame) into a table the airlock can check, in the outputs.

    One row per combination of the categories of `by`, empty ones included with n = 0 (the checks
    must see them). Per cell: `n`, the rows (or the distinct values of `persons`) and, with
    `value`, its `total` (statistic "sum") or `mean` ("mean"). Rows without a value count in `n`
    but not in the total: how many there were goes to the evidence. The evidence, beside the
    table in `<name>.sdc.csv`, never leaves the workspace: the two largest contributions (per
    `contributor` if given, else per row), the smallest, how many are negative, and for a mean
    the total. The structure goes in `<name>.sdc.json`. Returns the table's path."""
    import json

    if statistic not in ("sum", "mean"):
        raise ValueError(f"statistic must be 'sum' or 'mean', not {statistic!r}")
    taken = sorted({"n", "total", "mean"} & set(by))
    if taken:
        raise ValueError(f"{', '.join(taken)} name the table's own columns: rename that grouping column")
    groups = data.groupby(by, dropna=False, observed=True)
    table = _full_grid(data, by, (groups[persons].nunique() if persons else groups.size()).rename("n"))
    declared: dict = {"dimensions": list(by), "count": "n"}
    if value:
        evidence = _evidence(data, by, value, contributor).reindex(table.index)
        evidence["missing"] = evidence["missing"].fillna(0).astype(int)
        nothing = evidence["top1"].isna()  # empty cells, or cells whose every row lacks a value
        evidence.loc[nothing, ["top1", "top2", "negatives", "total"]] = 0
        evidence["negatives"] = evidence["negatives"].astype(int)
        if statistic == "sum":
            table["total"] = evidence["total"]
            declared["total"] = "total"
        else:
            table["mean"] = evidence["total"] / (table["n"] - evidence["missing"]).where(lambda n: n > 0)
            declared["mean"] = "mean"
        columns = ["top1", "top2", "smallest", "negatives", "missing"] + (["total"] if statistic == "mean" else [])
        evidence[columns].reset_index().to_csv(f"{name}.sdc.csv", index=False)
    else:  # evidence left by an earlier table of the same name would be read as this one's
        Path(f"{name}.sdc.csv").unlink(missing_ok=True)
    path = Path(name)
    table.reset_index().to_csv(path, index=False)
    Path(f"{name}.sdc.json").write_text(json.dumps(declared))
    return path


def _full_grid(data, by: list[str], counts):
    """Every combination of the categories seen in each of `by` (a category's declared levels
    when it has some), with n = 0 where nobody is."""
    import pandas as pd

    levels = [data[d].cat.categories if hasattr(data[d], "cat") else pd.unique(data[d]) for d in by]
    grid = pd.MultiIndex.from_product(levels, names=by) if len(by) > 1 else pd.Index(levels[0], name=by[0])
    return counts.reindex(grid.sort_values(), fill_value=0).to_frame()


def _evidence(data, by: list[str], value: str, contributor: str | None):
    """Per cell: its total, two largest and smallest contributions, negatives and rows without a value.
    Missing values are counted, then left out before ranking (NaN would sort anywhere)."""
    import pandas as pd

    missing = data[value].isna().groupby([data[d] for d in by], dropna=False, observed=True).sum()
    known = data[data[value].notna()]
    per = known.groupby([*by, contributor], dropna=False, observed=True)[value].sum().reset_index() \
        if contributor else known[[*by, value]].reset_index(drop=True)
    cells = per.groupby(by, dropna=False, observed=True)[value]
    second = per.sort_values(value, ascending=False).groupby(by, dropna=False, observed=True)[value].nth(1)
    evidence = pd.DataFrame({"total": cells.sum(), "top1": cells.max(), "smallest": cells.min(),
                             "negatives": (per[value] < 0).groupby([per[d] for d in by], dropna=False,
                                                                    observed=True).sum()})
    keys = per.loc[second.index, by]  # nth keeps the rows' own index: key them by their cell
    evidence["top2"] = pd.Series(second.to_numpy(), index=pd.MultiIndex.from_frame(keys) if len(by) > 1
                                 else pd.Index(keys[by[0]])).reindex(evidence.index).fillna(0.0)
    return evidence.join(missing.rename("missing"), how="outer")

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
    from bastide.workspaces.dialect import DUCKDB

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

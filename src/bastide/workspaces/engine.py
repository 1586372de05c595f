"""The query engine behind extracts and workspace queries, as a protocol: DuckDB now, Spark in
its own issue. Extract SQL keeps to the subset both speak (see compile.py)."""

from __future__ import annotations

from typing import Protocol

import duckdb
import pyarrow as pa


class QueryEngine(Protocol):
    def register(self, name: str, data) -> None:
        """Expose an Arrow table or dataset as a view called `name`."""

    def materialise(self, name: str, sql: str) -> int:
        """Run `sql` once into a temporary table `name`; return its row count."""

    def stream(self, sql: str, batch_rows: int) -> pa.RecordBatchReader: ...

    def seal(self) -> None:
        """From now on only the registered data: no files, no network, no settings changes."""

    def interrupt(self) -> None:
        """Stop the running query (from another thread)."""

    def close(self) -> None: ...


class DuckDBEngine:
    def __init__(self, *, memory_limit: str, threads: int):
        # no extension may be installed or loaded, and nothing outside the registered data read
        self.con = duckdb.connect(config={"memory_limit": memory_limit, "threads": threads,
                                          "autoinstall_known_extensions": False, "autoload_known_extensions": False,
                                          # an unknown table name must never resolve to a Python object in scope
                                          "python_enable_replacements": False,
                                          # Arrow scans report about one row, so the optimiser's swap of a
                                          # join's sides puts a 10 M-row scan in the hash table and the
                                          # 400 k-person cohort on the probe side (3x slower, all of it in
                                          # memory); the SQL is written with the smaller side on the right
                                          "disabled_optimizers": "build_side_probe_side"})

    def register(self, name: str, data) -> None:
        self.con.register(name, data)

    def materialise(self, name: str, sql: str) -> int:
        self.con.execute(f'CREATE TEMP TABLE "{name}" AS {sql}')
        return self.con.execute(f'SELECT count(*) FROM "{name}"').fetchall()[0][0]

    def stream(self, sql: str, batch_rows: int) -> pa.RecordBatchReader:
        return self.con.sql(sql).to_arrow_reader(batch_rows)

    def seal(self) -> None:
        self.con.execute("SET enable_external_access = false")
        self.con.execute("SET lock_configuration = true")

    def interrupt(self) -> None:
        self.con.interrupt()

    def close(self) -> None:
        self.con.close()

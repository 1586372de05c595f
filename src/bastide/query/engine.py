"""The query engine behind extracts and workspace queries, as a protocol: DuckDB here (embedded),
Spark in workspaces/spark/engine.py (a cluster; chosen in workspaces/engine_choice.py). Extract
SQL keeps to what both speak (workspaces/compile.py); the few functions they spell differently
come from the engine's `dialect`."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Protocol

import duckdb
import pyarrow as pa

from bastide.query.dialect import DUCKDB, Dialect
from bastide.query.parts import Written, write_parts
from bastide.query.source import ParquetSource


class QueryEngine(Protocol):
    dialect: Dialect

    def register(self, name: str, data) -> None:
        """Expose a (small) Arrow table as a view called `name`."""

    def register_source(self, name: str, source: ParquetSource) -> None:
        """Expose encrypted Parquet files as a view called `name`, read where they lie."""

    def define_view(self, name: str, sql: str) -> None:
        """A view `name` over what is registered (the analytics layer's views)."""

    def materialise(self, name: str, sql: str) -> int:
        """Run `sql` once into a temporary table `name`; return its row count."""

    def stream(self, sql: str, batch_rows: int, limit: int | None = None) -> pa.RecordBatchReader:
        """The result in batches; `limit` says how many rows the reader will take at most."""

    def write_parquet(self, sql: str, folder: Path, *, key_id: str, key: bytes, batch_rows: int,
                      parts: int) -> Written:
        """The result as Parquet files in `folder`, encrypted under the data key `key_id`."""

    def seal(self) -> None:
        """From now on only the registered data: no files, no network, no settings changes."""

    def read_only(self, sql: str) -> bool:
        """Whether `sql` is one statement that only reads (SELECT, WITH, FROM, DESCRIBE, EXPLAIN…)."""

    def interrupt(self) -> None:
        """Stop the running query (from another thread)."""

    def failure(self, exc: Exception) -> str | None:
        """'interrupted', the first line of a query's error, or None when `exc` is not the engine's."""

    def close(self) -> None: ...


READING = (duckdb.StatementType.SELECT, duckdb.StatementType.EXPLAIN)


class DuckDBEngine:
    dialect = DUCKDB

    def __init__(self, *, memory_limit: str, threads: int, spill: tuple[str, str] | None = None):
        # where it spills (a folder of its own, and how much) or else DuckDB's default (.tmp here)
        temp = {"temp_directory": spill[0], "max_temp_directory_size": spill[1]} if spill else {}
        # no extension may be installed or loaded, and nothing outside the registered data read
        self.con = duckdb.connect(config={**temp, "memory_limit": memory_limit, "threads": threads,
                                          "autoinstall_known_extensions": False, "autoload_known_extensions": False,
                                          # an unknown table name must never resolve to a Python object in scope
                                          "python_enable_replacements": False,
                                          # Arrow scans report about one row, so the optimiser's swap of a
                                          # join's sides puts a 10 M-row scan in the hash table and the
                                          # 400 k-person cohort on the probe side (3x slower, all of it in
                                          # memory); the SQL is written with the smaller side on the right
                                          "disabled_optimizers": "build_side_probe_side"})

    @classmethod
    def on(cls, con: duckdb.DuckDBPyConnection) -> DuckDBEngine:
        """An engine over a connection to an existing database (its settings are the database's)."""
        engine = cls.__new__(cls)
        engine.con = con
        return engine

    def register(self, name: str, data) -> None:
        self.con.register(name, data)

    def register_source(self, name: str, source: ParquetSource) -> None:
        self.con.register(name, source.dataset)

    def define_view(self, name: str, sql: str) -> None:
        self.con.execute(f'CREATE OR REPLACE TEMP VIEW "{name}" AS {sql}')

    def materialise(self, name: str, sql: str) -> int:
        self.con.execute(f'CREATE TEMP TABLE "{name}" AS {sql}')
        return self.con.execute(f'SELECT count(*) FROM "{name}"').fetchall()[0][0]

    def stream(self, sql: str, batch_rows: int, limit: int | None = None) -> pa.RecordBatchReader:
        return self.con.sql(sql).to_arrow_reader(batch_rows)  # lazy: the reader stops where its user stops

    def write_parquet(self, sql: str, folder: Path, *, key_id: str, key: bytes, batch_rows: int,
                      parts: int) -> Written:
        return write_parts(self.stream(sql, batch_rows), folder, key_id=key_id, key=key, parts=parts)

    def seal(self) -> None:
        self.con.execute("SET enable_external_access = false")
        self.con.execute("SET lock_configuration = true")

    def read_only(self, sql: str) -> bool:
        statements = self.con.extract_statements(sql)
        return len(statements) == 1 and statements[0].type in READING

    def interrupt(self) -> None:
        self.con.interrupt()

    def failure(self, exc: Exception) -> str | None:
        if isinstance(exc, duckdb.InterruptException):
            return "interrupted"
        return str(exc).splitlines()[0] if isinstance(exc, duckdb.Error) else None

    def close(self) -> None:
        self.con.close()


class SealedDatabase:
    """One DuckDB database, sealed once, handing out connections that each see only what is
    registered on them: a workspace engine's (enginehost.py), in its sandbox, whose connections
    are kept between queries with the extract's tables registered. It holds no data between
    queries because its users run only read-only statements (`read_only`)."""

    def __init__(self, *, memory_limit: str, threads: int, spill: tuple[str, str] | None = None):
        self._root = DuckDBEngine(memory_limit=memory_limit, threads=threads, spill=spill)
        self._root.seal()  # memory, threads and the seal are the database's, shared by its connections
        self._lock = threading.Lock()

    def connect(self) -> DuckDBEngine:
        with self._lock:
            return DuckDBEngine.on(self._root.con.cursor())

    def close(self) -> None:
        self._root.close()

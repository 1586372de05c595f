"""A workspace's query engine, as a process of its own inside the workspace's sandbox
(SPE-01, SPE-10; started by engines.py): `python -m bastide.workspaces.enginehost`.

It reads its configuration as one JSON line on stdin — the extract's tables (encrypted Parquet
bound read-only at /extract), the extract's data key, the engine's limits — then watches stdin,
whose end is the platform's (it exits then), opens the tables, seals the engine and serves Arrow Flight on a unix socket
(/run/bastide/engine.sock): a `do_get` ticket is {"sql", "limit", "seconds"} and answers one
read-only query as Arrow batches; actions `ping` and `tables`. Errors travel as Flight errors
whose extra_info is {"code", "message"}, what the researcher reads.

Everything a researcher's SQL can do happens here, as the workspace's unprivileged uid, with no
network, no other workspace's files, no key but this extract's and a spill folder of its own."""

from __future__ import annotations

import json
import os
import queue
import sys
import threading
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.flight as flight

from bastide.errors import DomainError
from bastide.keys.parquet import decryption_properties
from bastide.workspaces import answer
from bastide.workspaces.answer import QueryFailed, Scope
from bastide.query.engine import SealedDatabase
from bastide.query.source import ParquetSource

SOCKET = "/run/bastide/engine.sock"
EXTRACT = "/extract"
SPILL = "/scratch/spill"
BUSY_SECONDS = 10


@dataclass(frozen=True)
class Config:
    engine: str  # duckdb | spark
    tables: dict[str, list[str]]  # name -> files, relative to /extract
    keys: dict[str, bytes]
    memory_limit: str
    threads: int
    spill_limit: str
    connections: int
    spark: dict  # the Spark engine's settings (spark_engine.py), empty on DuckDB

    @classmethod
    def read(cls, line: str) -> Config:
        raw = json.loads(line)
        return cls(engine=raw["engine"], tables=raw["tables"], keys={k: bytes.fromhex(v) for k, v in raw["keys"].items()},
                   memory_limit=raw["memory_limit"], threads=raw["threads"], spill_limit=raw["spill_limit"],
                   connections=raw["connections"], spark=raw.get("spark", {}))


def open_tables(config: Config) -> dict[str, ParquetSource]:
    """The extract's tables, decrypting as they are read (the key stays in this process)."""
    fmt = ds.ParquetFileFormat(default_fragment_scan_options=ds.ParquetFragmentScanOptions(
        decryption_properties=decryption_properties(config.keys)))
    tables = {}
    for name, files in config.tables.items():
        paths = [f"{EXTRACT}/{f}" for f in files]
        tables[name] = ParquetSource(ds.dataset(paths, format=fmt), [f"file://{p}" for p in paths], config.keys)
    return tables


class Connections:
    """Engine connections with the tables registered, lent one query at a time."""

    def __init__(self, make, size: int):
        self._make, self._free, self._made, self._size = make, queue.LifoQueue(), 0, size
        self._lock = threading.Lock()

    def take(self) -> Scope:
        try:
            return self._free.get_nowait()
        except queue.Empty:
            pass
        with self._lock:
            if self._made < self._size:
                self._made += 1
                return self._make()
        try:
            return self._free.get(timeout=BUSY_SECONDS)
        except queue.Empty:
            raise QueryFailed(f"{self._size} queries of this workspace are running: wait for one to end",
                              code="workspace_busy") from None

    def give(self, scope: Scope) -> None:
        self._free.put(scope)


def duckdb_connections(config: Config, tables: dict[str, ParquetSource]) -> Connections:
    database = SealedDatabase(memory_limit=config.memory_limit, threads=config.threads,
                              spill=(SPILL, config.spill_limit))
    return Connections(lambda: Scope(database.connect(), tables), config.connections)


def _refusal(exc: DomainError) -> flight.FlightServerError:
    said = json.dumps({"code": exc.code, "message": exc.message, "words": exc.words}).encode()
    return flight.FlightServerError(exc.message, extra_info=said)


class EngineServer(flight.FlightServerBase):
    def __init__(self, location: str, connections: Connections, tables: list[str]):
        super().__init__(location)
        self.connections, self.tables = connections, tables

    def do_get(self, context, ticket):
        request = json.loads(ticket.ticket)
        sql, limit, seconds = request["sql"], request.get("limit"), int(request["seconds"])
        try:
            scope = self.connections.take()
        except DomainError as exc:
            raise _refusal(exc) from None
        timer = threading.Timer(seconds, scope.engine.interrupt)  # the query's own time, kept here
        timer.start()

        def done() -> None:
            timer.cancel()
            self.connections.give(scope)

        try:
            reader = answer.stream(scope, sql, limit=limit, seconds=seconds)
        except BaseException as exc:
            done()
            if isinstance(exc, DomainError):
                raise _refusal(exc) from None
            raise
        return flight.GeneratorStream(reader.schema, _batches(reader, done))

    def do_action(self, context, action):
        if action.type == "ping":
            yield flight.Result(b"ok")
        elif action.type == "tables":
            yield flight.Result(json.dumps(sorted(self.tables)).encode())
        else:
            raise flight.FlightServerError(f"no action {action.type}")


def _batches(reader: pa.RecordBatchReader, done):
    """The batches, then the connection back to the pool, however the stream ends."""
    try:
        yield from reader
    except DomainError as exc:
        raise _refusal(exc) from None
    finally:
        done()


def connections_for(config: Config, tables: dict[str, ParquetSource]) -> Connections:
    if config.engine == "spark":
        from bastide.workspaces.spark.sandboxed import spark_connections  # pyspark only where Spark is used

        return spark_connections(config, tables)
    return duckdb_connections(config, tables)


def _end_with_the_platform() -> None:
    """stdin stays open while the platform lives: its end (the platform stopped, however) ends us."""
    sys.stdin.buffer.read()
    os._exit(0)


def main() -> None:
    config = Config.read(sys.stdin.readline())
    threading.Thread(target=_end_with_the_platform, daemon=True).start()
    tables = open_tables(config)
    server = EngineServer(f"grpc+unix://{SOCKET}", connections_for(config, tables), list(tables))
    print("ready", flush=True)
    server.serve()


if __name__ == "__main__":
    main()

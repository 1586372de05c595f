"""How one researcher query is answered on a workspace's engine: one read-only statement (the
engine's own parser says so), the analytics views it reads defined first, the result streamed
in batches up to a number of rows. This runs inside the workspace's engine process, in its
sandbox (enginehost.py): never in the platform's own process."""

from __future__ import annotations

from collections.abc import Iterator

import pyarrow as pa

from bastide.analytics.views import used_by, workspace_views
from bastide.errors import InvalidInput
from bastide.query.engine import QueryEngine
from bastide.query.source import ParquetSource


class QueryFailed(InvalidInput):
    code = "query_failed"


READ_ONLY = ("a workspace query is one read-only statement (SELECT, WITH, FROM, DESCRIBE, SUMMARIZE, EXPLAIN): "
             "tables and longer scripts belong in a job (`bastide ws run`)")
BATCH_ROWS = 1024


class Scope:
    """A workspace's tables on one engine connection, with the analytics views defined as
    queries read them (defining all of them for every query cost ~200 ms)."""

    def __init__(self, engine: QueryEngine, tables: dict[str, ParquetSource]):
        self.engine, self.tables = engine, tables
        self._views = workspace_views({name: source.schema for name, source in tables.items()}, engine.dialect)
        self._defined: set[str] | None = None  # the tables are registered when the first query comes

    def prepare(self, sql: str) -> None:
        if self._defined is None:
            for name, source in self.tables.items():
                self.engine.register_source(name, source)
            self._defined = set()
        for name, view in used_by(self._views, sql):
            if name not in self._defined:
                self.engine.define_view(name, view)
                self._defined.add(name)


def failure(engine: QueryEngine, exc: Exception, seconds: int) -> QueryFailed | None:
    """The engine's own error as the researcher reads it, or None when it is not the engine's."""
    said = engine.failure(exc)
    if said == "interrupted":
        return QueryFailed(f"the query ran longer than {seconds} s and was stopped", code="query_timeout")
    return None if said is None else QueryFailed(f"the query failed: {said}")


def stream(scope: Scope, sql: str, *, limit: int | None, seconds: int) -> pa.RecordBatchReader:
    """The result of one read-only query, at most `limit` rows (all if None). Refusals and the
    engine's errors raise QueryFailed, before the first batch or while batches come."""
    engine = scope.engine
    if not engine.read_only(sql):
        raise QueryFailed(READ_ONLY, words="said_query_not_read_only")
    try:
        scope.prepare(sql)
        reader = engine.stream(sql, BATCH_ROWS, limit=limit)
    except Exception as exc:  # noqa: BLE001 - the engine's own errors, told apart by the engine
        raise failure(engine, exc, seconds) or exc from None
    return pa.RecordBatchReader.from_batches(reader.schema, _limited(engine, reader, limit, seconds))


def _limited(engine: QueryEngine, reader: pa.RecordBatchReader, limit: int | None, seconds: int
             ) -> Iterator[pa.RecordBatch]:
    rows = 0
    try:
        for batch in reader:
            if limit is not None and rows + batch.num_rows >= limit:
                yield batch.slice(0, limit - rows)
                return
            rows += batch.num_rows
            yield batch
    except Exception as exc:  # noqa: BLE001
        raise failure(engine, exc, seconds) or exc from None

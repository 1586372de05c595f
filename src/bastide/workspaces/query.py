"""Working inside a workspace: who may enter (SPE-01, SPE-05) and SQL on its extract (SPE-10).

Each workspace has a sealed DuckDB database (no file, network or extension access, no settings
changes, no Python objects by name; memory and thread limits) — or, when it runs on Spark, each
query has a session of its own with SQL on files turned off; each query gets its own
connection to it that sees only this workspace's current extract, decrypted in memory, and
may run one read-only statement, so nothing outlives the query; a timer interrupts it. Query
text, duration, row count and outcome are audited, refusals too. `answer` is the one place a
workspace query runs: the console here, a Spark workspace's jobs through gateway.py."""

from __future__ import annotations

import json
import threading
import time
from collections import OrderedDict
from weakref import WeakKeyDictionary
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
from sqlalchemy.orm import Session

from bastide.analytics.views import used_by, workspace_views
from bastide.audit.actions import AuditAction
from bastide.audit.service import record
from bastide.errors import Conflict, DomainError, InvalidInput
from bastide.identity.policy import Forbidden, has_permission
from bastide.identity.roles import Permission
from bastide.keys import service as key_service
from bastide.platform import Platform
from bastide.statemachine import Actor
from bastide.workspaces.engine import DuckDBEngine, QueryEngine, SealedDatabase, sealed_engine
from bastide.workspaces.models import Extract, Workspace
from bastide.workspaces.service import current_extract, ended_permit, engine_of, get_workspace, target, why_ended
from bastide.workspaces.source import ParquetSource, parquet_source


class QueryFailed(InvalidInput):
    code = "query_failed"


def members(ws: Workspace) -> set[str]:
    """The persons the permit names (Art. 68(10)): only they may enter, whatever their role."""
    return {p.strip().lower() for p in json.loads(ws.permit.document)["persons"]}


def refusal(actor: Actor, ws: Workspace) -> DomainError | None:
    if not has_permission(actor, Permission.WORKSPACE_ENTER) or actor.id.removeprefix("user:") not in members(ws):
        return Forbidden(f"{actor.id} is not named in {ws.permit.reference}: only its persons enter {ws.reference}",
                         details={"workspace": ws.reference})
    if ws.status != "ready":
        return Conflict(f"{ws.reference} is {ws.status}" + (f": {ws.status_reason}" if ws.status_reason else ""),
                        code=f"workspace_{ws.status}")
    return None


def _closed(session: Session, ws: Workspace) -> DomainError | None:
    """A revoked or ended permit closes its workspace at once, before the check locks it (SPE-11)."""
    ended = ended_permit(session, ws)
    if ended is None:
        return None
    return Conflict(f"{ws.reference} is closed: {why_ended(ended)}", code="workspace_locked",
                    details={"workspace": ws.reference, "permit": ended.reference})


def entry_refusal(session: Session, *, actor: Actor, ws: Workspace) -> DomainError | None:
    """Why `actor` may not work in `ws` now (not named, workspace not ready, permit ended), or None."""
    return refusal(actor, ws) or _closed(session, ws)


def enter(session: Session, *, actor: Actor, ws: Workspace) -> DomainError | None:
    """The refusal, recorded (the caller commits it, then raises it), or None."""
    error = entry_refusal(session, actor=actor, ws=ws)
    if error is not None:
        record(session, actor=actor, action=AuditAction.WORKSPACE_REFUSED, target=target(ws),
               details={"reason": error.code})
    return error


@dataclass(frozen=True)
class QueryResult:
    columns: list[str]
    rows: list[list[Any]]
    row_count: int  # rows shown
    truncated: bool  # more rows existed than the cap
    seconds: float


def extract_tables(session: Session, platform: Platform, row: Extract) -> dict[str, ParquetSource]:
    key = {row.key_id: key_service.unwrap_key(session, keys=platform.keys, key_id=row.key_id)}
    return {name: parquet_source(platform.store, table["files"], key) for name, table in row.tables.items()}


def admit(platform: Platform, *, actor: Actor, ws_id: int) -> None:
    """Let `actor` in, or commit the refusal to the audit trail and raise it."""
    with platform.db.unit_of_work() as session:
        error = enter(session, actor=actor, ws=get_workspace(session, ws_id))
    if error is not None:
        raise error


@dataclass(frozen=True)
class Admitted:
    tables: dict[str, ParquetSource]  # the current extract's
    engine: str  # what the workspace runs on: its permit's choice, else the platform's


def admitted_tables(platform: Platform, *, actor: Actor, ws_id: int) -> Admitted:
    """The current extract's tables, once `actor` is let in (a refusal is committed, then raised)."""
    with platform.db.unit_of_work() as session:
        ws = get_workspace(session, ws_id)
        error = enter(session, actor=actor, ws=ws)
        if error is None:
            return Admitted(extract_tables(session, platform, current_extract(session, ws)),
                            engine_of(ws.permit, platform.settings))
    raise error


def run_query(platform: Platform, *, actor: Actor, ws_id: int, sql: str) -> QueryResult:
    settings = platform.settings
    tables = admitted_tables(platform, actor=actor, ws_id=ws_id)
    began, result, error = time.monotonic(), None, None
    try:
        table, more = _execute(platform, ws_id, tables, sql, cap=settings.workspace_query_rows)
        result = QueryResult(columns=table.column_names, rows=[list(r.values()) for r in table.to_pylist()],
                             row_count=table.num_rows, truncated=more, seconds=round(time.monotonic() - began, 3))
        return result
    except DomainError as exc:
        error = exc
        raise
    finally:
        with platform.db.unit_of_work() as session:
            record(session, actor=actor, action=AuditAction.WORKSPACE_QUERY, target=target(get_workspace(session, ws_id)),
                   details=query_event(sql, began=began, rows=result.row_count if result else 0,
                                       outcome=error.code if error else "ok"))


def query_event(sql: str, *, began: float, rows: int, outcome: str) -> dict:
    """What the audit trail keeps of a workspace query, from the console or a job's gateway."""
    return {"sql": sql[:10_000], "seconds": round(time.monotonic() - began, 3), "rows": rows, "outcome": outcome}


FORMATS = ("csv", "parquet")


def save_result(platform: Platform, *, actor: Actor, ws_id: int, sql: str, name: str, fmt: str):
    """Run the query again without the row cap and keep the whole result as an output (SPE-10)."""
    from bastide.workspaces.jobs import register_output  # jobs builds on this module

    stem = "".join(c for c in name if c.isalnum() or c in "-_") or "result"
    if fmt not in FORMATS:
        raise InvalidInput(f"save as {' or '.join(FORMATS)}", details={"field": "format"})
    table, _ = _execute(platform, ws_id, admitted_tables(platform, actor=actor, ws_id=ws_id), sql, cap=None)
    buffer = pa.BufferOutputStream()
    if fmt == "csv":
        pa_csv.write_csv(table, buffer)
    else:
        pq.write_table(table, buffer, compression="zstd")
    with platform.db.unit_of_work() as session:
        row = current_extract(session, get_workspace(session, ws_id))
        output = register_output(session, platform, row=row, name=f"{stem}.{fmt}", content=buffer.getvalue().to_pybytes(),
                                 origin={"query": sql[:10_000], "by": actor.id})
        record(session, actor=actor, action=AuditAction.WORKSPACE_QUERY, target=target(row.workspace),
               details={"sql": sql[:10_000], "rows": table.num_rows, "saved": output.name, "outcome": "ok"})
        return output.name, table.num_rows


class _Databases:
    """The sealed database of each recently used workspace (they hold no data, only limits)."""

    def __init__(self, keep: int = 32):
        self._open: OrderedDict[int, SealedDatabase] = OrderedDict()
        self._keep = keep
        self._lock = threading.Lock()

    def connect(self, ws_id: int, settings) -> DuckDBEngine:
        with self._lock:
            database = self._open.pop(ws_id, None) or SealedDatabase(
                memory_limit=settings.workspace_memory_limit, threads=settings.duckdb_threads)
            self._open[ws_id] = database  # the newest last
            while len(self._open) > self._keep:
                self._open.popitem(last=False)[1].close()
            return database.connect()


_DATABASES: WeakKeyDictionary[Platform, _Databases] = WeakKeyDictionary()
READ_ONLY = ("a workspace query is one read-only statement (SELECT, WITH, FROM, DESCRIBE, SUMMARIZE, EXPLAIN): "
             "tables and longer scripts belong in a job (`bastide ws run`)")


def _connect(platform: Platform, ws_id: int, engine: str) -> QueryEngine:
    """A sealed engine for one query: a connection to the workspace's DuckDB database, or a
    Spark session of its own where the workspace runs on Spark."""
    if engine == "spark":
        return sealed_engine(platform.settings, engine)
    return _DATABASES.setdefault(platform, _Databases()).connect(ws_id, platform.settings)


class Scope:
    """A workspace's tables on one engine, with the analytics views defined as queries read them."""

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


def answer(scope: Scope, sql: str, *, cap: int | None, seconds: int) -> tuple[pa.Table, bool]:
    """One read-only query, interrupted after `seconds`: at most `cap` rows (all if None), and
    whether more existed. The engine's own errors become QueryFailed with their first line."""
    engine = scope.engine
    timer = threading.Timer(seconds, engine.interrupt)
    try:
        if not engine.read_only(sql):
            raise QueryFailed(READ_ONLY)
        scope.prepare(sql)
        timer.start()
        reader = engine.stream(sql, 1024, limit=None if cap is None else cap + 1)
        batches, rows = [], 0
        for batch in reader:
            batches.append(batch)
            rows += batch.num_rows
            if cap is not None and rows > cap:
                break
        table = pa.Table.from_batches(batches, schema=reader.schema)
    except DomainError:
        raise
    except Exception as exc:  # noqa: BLE001 - the engine's own errors, told apart by the engine
        failure = engine.failure(exc)
        if failure == "interrupted":
            raise QueryFailed(f"the query ran longer than {seconds} s and was stopped", code="query_timeout") from None
        if failure is None:
            raise
        raise QueryFailed(f"the query failed: {failure}") from None
    finally:
        timer.cancel()
    if cap is None:
        return table, False
    return table.slice(0, cap), rows > cap


def _execute(platform: Platform, ws_id: int, admitted: Admitted, sql: str, cap: int | None) -> tuple[pa.Table, bool]:
    engine = _connect(platform, ws_id, admitted.engine)
    try:
        return answer(Scope(engine, admitted.tables), sql, cap=cap, seconds=platform.settings.workspace_query_seconds)
    finally:
        engine.close()

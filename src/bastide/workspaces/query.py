"""Working inside a workspace: who may enter (SPE-01, SPE-05) and SQL on its extract (SPE-10).

A query runs in the workspace's own engine process, in its sandbox (engines.py, enginehost.py):
never in the platform's process. The answer is a screen view (screen.py): capped in rows and
bytes, within the person's daily quota; the whole result leaves only as an output, through the
airlock. Query text, duration, rows shown and outcome are audited, refusals too."""

from __future__ import annotations

import json
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
from sqlalchemy import select
from sqlalchemy.orm import Session

from bastide.audit.actions import AuditAction
from bastide.audit.models import AuditEvent
from bastide.audit.service import record
from bastide.config import bytes_of
from bastide.errors import Conflict, DomainError, InvalidInput, LimitReached
from bastide.identity.policy import Forbidden, has_permission
from bastide.identity.roles import Permission
from bastide.keys import service as key_service
from bastide.platform import Platform
from bastide.statemachine import Actor
from bastide.workspaces import screen
from bastide.workspaces.answer import QueryFailed  # noqa: F401 - where callers find it
from bastide.workspaces.engines import ExtractFiles, engines
from bastide.workspaces.models import Extract, Workspace
from bastide.workspaces.service import current_extract, ended_permit, engine_of, get_workspace, target, why_ended
from bastide.query.source import ParquetSource, parquet_source


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
    truncated: bool  # more rows existed than were shown
    seconds: float
    truncated_by: str | None = None  # rows (the answer's cap), bytes, or quota (the daily screen-view quota)
    quota_left: int | None = None  # rows this person may still be shown in the workspace today


def extract_tables(session: Session, platform: Platform, row: Extract) -> dict[str, ParquetSource]:
    key = {row.key_id: key_service.unwrap_key(session, keys=platform.keys, key_id=row.key_id)}
    return {name: parquet_source(platform.store, table["files"], key) for name, table in row.tables.items()}


def extract_files(ws: Workspace, row: Extract, settings) -> ExtractFiles:
    """What the workspace's engine is started with (engines.py): the current extract's files."""
    return ExtractFiles(ws_id=ws.id, extract_id=row.id, prefix=row.prefix, key_id=row.key_id,
                        tables={name: list(table["files"]) for name, table in row.tables.items()},
                        engine=engine_of(ws.permit, settings))


def admit(platform: Platform, *, actor: Actor, ws_id: int) -> None:
    """Let `actor` in, or commit the refusal to the audit trail and raise it."""
    with platform.db.unit_of_work() as session:
        error = enter(session, actor=actor, ws=get_workspace(session, ws_id))
    if error is not None:
        raise error


def admitted_files(platform: Platform, *, actor: Actor, ws_id: int) -> ExtractFiles:
    """The current extract's files, once `actor` is let in (a refusal is committed, then raised)."""
    with platform.db.unit_of_work() as session:
        ws = get_workspace(session, ws_id)
        error = enter(session, actor=actor, ws=ws)
        if error is None:
            return extract_files(ws, current_extract(session, ws), platform.settings)
    raise error


def allowance(platform: Platform, actor: Actor, ws_id: int) -> int:
    """Rows `actor` may still be shown today; a refusal (quota reached) is audited, then raised."""
    with platform.db.unit_of_work() as session:
        try:
            return screen.remaining(session, ws_id=ws_id, person=actor.id, quota=platform.settings.workspace_daily_rows)
        except screen.QuotaReached as refused:
            record(session, actor=actor, action=AuditAction.WORKSPACE_REFUSED, target=target(get_workspace(session, ws_id)),
                   details={"reason": refused.code})
            error = refused
    raise error


def run_query(platform: Platform, *, actor: Actor, ws_id: int, sql: str) -> QueryResult:
    """One read-only query answered by the workspace's engine, in its sandbox: a screen view of
    at most `workspace_query_rows` rows and `workspace_query_size` bytes, within the person's
    daily quota; audited with its text, rows shown and outcome."""
    settings = platform.settings
    files = admitted_files(platform, actor=actor, ws_id=ws_id)
    left = allowance(platform, actor, ws_id)
    cap = min(settings.workspace_query_rows, left)
    began, result, error = time.monotonic(), None, None
    try:
        answer = engines(platform).engine(files).answer(sql, rows=cap, max_bytes=bytes_of(settings.workspace_query_size),
                                                        seconds=settings.workspace_query_seconds)
        table = answer.table
        why = "quota" if answer.truncated == "rows" and cap < settings.workspace_query_rows else answer.truncated
        result = QueryResult(columns=table.column_names, rows=[list(r.values()) for r in table.to_pylist()],
                             row_count=table.num_rows, truncated=answer.truncated is not None,
                             seconds=round(time.monotonic() - began, 3), truncated_by=why,
                             quota_left=left - table.num_rows)
        return result
    except DomainError as exc:
        error = exc
        raise
    finally:
        with platform.db.unit_of_work() as session:
            shown = result.row_count if result else 0
            screen.charge(session, ws_id=ws_id, person=actor.id, rows=shown)
            event = query_event(sql, began=began, rows=shown, outcome=error.code if error else "ok")
            if result and result.truncated:
                event["truncated_by"] = result.truncated_by
            record(session, actor=actor, action=AuditAction.WORKSPACE_QUERY, target=target(get_workspace(session, ws_id)),
                   details=event)


def query_event(sql: str, *, began: float, rows: int, outcome: str) -> dict:
    """What the audit trail keeps of a workspace query, from the console or a job's gateway."""
    return {"sql": sql[:10_000], "seconds": round(time.monotonic() - began, 3), "rows": rows, "outcome": outcome}


@dataclass(frozen=True)
class PastQuery:
    at: Any
    sql: str
    rows: int
    outcome: str  # "ok", or the error's code
    saved: str | None  # the output it was saved as


def recent_queries(session: Session, *, actor: Actor, ws: Workspace, limit: int = 20) -> list[PastQuery]:
    """The person's own latest queries in this workspace, newest first (issue 18, item 8: a history
    to run again), from the audit trail that records each one anyway; never another person's."""
    events = session.execute(
        select(AuditEvent).where(AuditEvent.action == AuditAction.WORKSPACE_QUERY.value,
                                 AuditEvent.actor == actor.id, AuditEvent.target == target(ws))
        .order_by(AuditEvent.id.desc()).limit(limit)).scalars()
    return [PastQuery(e.at, e.details.get("sql", ""), e.details.get("rows", 0), e.details.get("outcome", "ok"),
                      e.details.get("saved")) for e in events if e.details.get("sql")]


FORMATS = ("csv", "parquet")


def save_result(platform: Platform, *, actor: Actor, ws_id: int, sql: str, name: str, fmt: str):
    """Run the query again without the row cap and keep the whole result as an output (SPE-10):
    streamed from the engine into a file of at most `job_output_file_size` bytes, then sealed."""
    from bastide.workspaces.jobs import register_output_file  # jobs builds on this module

    stem = "".join(c for c in name if c.isalnum() or c in "-_") or "result"
    if fmt not in FORMATS:
        raise InvalidInput(f"save as {' or '.join(FORMATS)}", details={"field": "format"}, code="format_unknown")
    settings = platform.settings
    files = admitted_files(platform, actor=actor, ws_id=ws_id)
    engine = engines(platform).engine(files)
    with tempfile.TemporaryDirectory(dir=_scratch(settings)) as tmp:
        path = Path(tmp) / f"{stem}.{fmt}"
        rows = write_answer(engine.reader(sql, limit=None, seconds=settings.workspace_query_seconds), path, fmt,
                            limit=bytes_of(settings.job_output_file_size))
        with platform.db.unit_of_work() as session:
            row = current_extract(session, get_workspace(session, ws_id))
            output = register_output_file(session, platform, row=row, name=path.name, local=path,
                                          origin={"query": sql[:10_000], "by": actor.id})
            record(session, actor=actor, action=AuditAction.WORKSPACE_QUERY, target=target(row.workspace),
                   details={"sql": sql[:10_000], "rows": rows, "saved": output.name, "outcome": "ok"})
            return output.name, rows


def _scratch(settings) -> Path:
    folder = settings.resolved_work_dir / "results"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def write_answer(reader: pa.RecordBatchReader, path: Path, fmt: str, *, limit: int) -> int:
    """The answer written to `path` as CSV or Parquet, refused once the file passes `limit` bytes."""
    writer = pa_csv.CSVWriter(str(path), reader.schema) if fmt == "csv" else \
        pq.ParquetWriter(str(path), reader.schema, compression="zstd")
    rows = 0
    try:
        for batch in reader:
            writer.write_batch(batch)
            rows += batch.num_rows
            if path.stat().st_size > limit:
                raise LimitReached(f"the result is larger than {limit:,} bytes: aggregate or filter it in SQL, or "
                                   "write it from a job", code="result_too_large", details={"limit": limit})
    finally:
        reader.close()
        writer.close()
    return rows

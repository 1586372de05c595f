"""Provisioning a workspace from a permit (SPE-02, SPE-03, PSE-01…PSE-06, GOV-16).

Like ingest, provisioning is a pipeline that owns its transactions: a short one records the
workspace and a `building` extract, the build runs outside any transaction, a last one makes
the extract `ready` — or, on any failure, deletes what was written and records why. Nothing
is usable before the end."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bastide.audit.actions import AuditAction
from bastide import transitions
from bastide.audit.service import record
from bastide.catalogue import service as catalogue
from bastide.db import utcnow
from bastide.errors import Conflict, DomainError, NotFound
from bastide.governance import optout, permits
from bastide.governance.models import Permit
from bastide.keys import service as key_service
from bastide.platform import Platform
from bastide.statemachine import SYSTEM, Actor
from bastide import queue
from bastide.workspaces import extract, running
from bastide.workspaces.engine_choice import configured_engine
from bastide.workspaces.models import Extract, Workspace
from bastide.workspaces.spec import ExtractSpec
from bastide.workspaces.workflow import WORKSPACE_WORKFLOW


def target(ws: Workspace) -> str:
    return f"workspace:{ws.reference}"


def move(session: Session, *, actor: Actor, ws: Workspace, action: str, reason: str | None = None) -> None:
    transitions.apply(session, WORKSPACE_WORKFLOW, ws, action=action, actor=actor, target=target(ws),
                      details={"reason": reason} if reason else None)
    ws.status_reason, ws.updated_at = reason, utcnow()


def get_workspace(session: Session, ws_id: int) -> Workspace:
    ws = session.get(Workspace, ws_id)
    if ws is None:
        raise NotFound(f"no workspace {ws_id}")
    return ws


def list_workspaces(session: Session) -> list[Workspace]:
    return list(session.execute(select(Workspace).order_by(Workspace.id)).scalars())


def building_extract(session: Session, ws: Workspace) -> Extract | None:
    return session.execute(select(Extract).where(Extract.workspace_id == ws.id, Extract.status == "building")
                           .order_by(Extract.version.desc()).limit(1)).scalar_one_or_none()


def current_extract(session: Session, ws: Workspace) -> Extract | None:
    return session.execute(select(Extract).where(Extract.workspace_id == ws.id, Extract.status == "ready")
                           .order_by(Extract.version.desc()).limit(1)).scalar_one_or_none()


def _start(session: Session, *, keys, actor: Actor, permit: Permit) -> tuple[int, int]:
    """Record the workspace (created on the project's first permit) and a building extract."""
    if permit.status != "active":
        raise Conflict(f"{permit.reference} is {permit.status}: only an active permit is provisioned",
                       code="permit_not_active")
    ws = session.execute(select(Workspace).where(Workspace.application_id == permit.application_id)).scalar_one_or_none()
    if ws is None:
        now = utcnow()
        pseudonyms = key_service.create_key(session, keys=keys, actor=actor, purpose="project pseudonyms")
        files = key_service.create_key(session, keys=keys, actor=actor, purpose="workspace outputs and imports")
        ws = Workspace(application_id=permit.application_id, permit=permit, status=WORKSPACE_WORKFLOW.initial,
                       pseudonym_key_id=pseudonyms.id, files_key_id=files.id, created_at=now, updated_at=now)
        session.add(ws)
        session.flush()
        record(session, actor=actor, action=AuditAction.WORKSPACE_CREATE, target=target(ws),
               details={"permit": permit.reference})
    else:
        move(session, actor=actor, ws=ws, action="provision", reason=f"extract for {permit.reference}")
        ws.permit = permit
    version = (session.execute(select(func.max(Extract.version)).where(Extract.workspace_id == ws.id))
               .scalar_one() or 0) + 1
    spec = ExtractSpec.from_permit(json.loads(permit.document))
    data_key = key_service.create_key(session, keys=keys, actor=actor, purpose=f"extract {ws.reference} v{version}")
    row = Extract(workspace_id=ws.id, version=version, permit_id=permit.id, status="building", key_id=data_key.id,
                  prefix=f"workspaces/{ws.reference}/extract/v{version}", spec=json.loads(spec.canonical()),
                  spec_sha256=spec.digest, created_at=utcnow())
    session.add(row)
    session.flush()
    return ws.id, row.id


@dataclass(frozen=True)
class Provisioned:
    workspace: str
    version: int
    cohort: int
    rows: int
    tables: dict


def request_provision(session: Session, *, keys, actor: Actor, permit_id: int) -> int:
    """Record the build of the permit's extract for a worker to take (bastide.worker); the
    extract's id."""
    return _start(session, keys=keys, actor=actor, permit=permits.get_permit(session, permit_id))[1]


def provision(platform: Platform, *, actor: Actor, permit_id: int,
              progress: Callable[[str], None] = lambda _m: None) -> Provisioned:
    """Build the permit's extract in this process (the operator's command line), claimed as it
    is recorded so that no worker takes it meanwhile."""
    by = queue.process_name("cli")
    with platform.db.unit_of_work() as session:
        extract_id = request_provision(session, keys=platform.keys, actor=actor, permit_id=permit_id)
        claim_build(session, by=by, extract_id=extract_id)
    return build(platform, actor=actor, extract_id=extract_id, progress=progress)


def claim_build(session: Session, *, by: str, extract_id: int | None = None) -> Extract | None:
    """Take the oldest build nobody runs (that one, with `extract_id`) for the process `by`; None
    when none waits. Two processes never take the same build (bastide.queue)."""
    row = queue.take(session, Extract, waiting=(Extract.status == "building",), by=by, row_id=extract_id)
    if row is not None:
        record(session, actor=SYSTEM, action=AuditAction.WORKSPACE_BUILD, target=target(row.workspace),
               details={"extract": row.version, "worker": by})
    return row


def build(platform: Platform, *, extract_id: int, actor: Actor = SYSTEM,
          progress: Callable[[str], None] = lambda _m: None) -> Provisioned:
    """Build an extract this process has claimed, to `ready` — or, on any failure, to `failed`
    with nothing of it left."""
    with platform.db.unit_of_work() as session:
        ws_id = session.get(Extract, extract_id).workspace_id

    def step(message: str) -> None:
        with platform.db.unit_of_work() as session:  # so that the workspace pages show how far it is
            session.get(Extract, extract_id).progress = message[:200]
        progress(message)

    with platform.liveness.holding(Extract, extract_id):  # a build whose process ends is recovered (liveness)
        try:
            body = _build(platform, extract_id, step)
        except Exception as exc:
            abandon(platform, actor=actor, ws_id=ws_id, extract_id=extract_id, error=exc)
            raise
        return _finish(platform, actor=actor, ws_id=ws_id, extract_id=extract_id, body=body)


def _finish(platform: Platform, *, actor: Actor, ws_id: int, extract_id: int, body: dict) -> Provisioned:
    """The extract becomes the workspace's data; the versions it replaces are shredded."""
    with platform.db.unit_of_work() as session:
        row, ws = session.get(Extract, extract_id), get_workspace(session, ws_id)
        if row.status != "building":  # recovered meanwhile: this process was silent and taken for ended
            platform.store.delete_prefix(row.prefix)
            raise Conflict(f"extract v{row.version} was ended while it was built: {row.error}",
                           details={"workspace": ws.reference}, code="build_interrupted")
        row.status, row.finished_at, row.cohort, row.progress = "ready", utcnow(), body["cohort"], None
        row.tables = body["tables"]
        row.rows = sum(t["rows"] for t in body["tables"].values())
        row.manifest_sha256 = body["manifest_sha256"]
        move(session, actor=actor, ws=ws, action="ready", reason=f"extract v{row.version}: {row.rows} rows")
        for older in session.execute(select(Extract).where(Extract.workspace_id == ws_id, Extract.id != extract_id,
                                                           Extract.status == "ready")).scalars():
            shred_extract(session, platform=platform, actor=actor, row=older, reason=f"replaced by v{row.version}")
        return Provisioned(ws.reference, row.version, row.cohort, row.rows, row.tables)


def engine_of(permit: Permit, settings) -> str:
    """The engine a workspace runs on: its permit's choice (Art. 67(2)(i)), else the platform's."""
    return json.loads(permit.document).get("engine") or settings.engine


def _build(platform: Platform, extract_id: int, progress) -> dict:
    settings = platform.settings
    with platform.db.unit_of_work() as session:
        row = session.get(Extract, extract_id)
        ws, permit = row.workspace, permits.get_permit(session, row.permit_id)
        spec = ExtractSpec.from_permit(json.loads(permit.document))
        snapshot = catalogue.get_snapshot(session, spec.snapshot)
        unwrap = lambda key_id: key_service.unwrap_key(session, keys=platform.keys, key_id=key_id)  # noqa: E731
        engine = configured_engine(settings, engine_of(permit, settings))
        try:
            body = extract.build(session, engine=engine, store=platform.store, keys=platform.keys, snapshot=snapshot,
                                 spec=spec, pseudonym_key=unwrap(ws.pseudonym_key_id),
                                 excluded=optout.excluded(session, permit=permit),
                                 target=extract.Target(platform.store, row.prefix, row.key_id, unwrap(row.key_id),
                                                      parts=settings.duckdb_threads),
                                 progress=progress)
        finally:
            engine.close()
        session.rollback()  # the build reads only; key unwraps write nothing
    return body


def abandon(platform: Platform, *, actor: Actor, ws_id: int, extract_id: int, error: Exception) -> None:
    """Nothing half-written stays: the files go, the extract and the workspace say why."""
    with platform.db.unit_of_work() as session:
        row = session.get(Extract, extract_id)
        platform.store.delete_prefix(row.prefix)
        message = error.message if isinstance(error, DomainError) else f"{type(error).__name__}: {error}"
        row.status, row.error, row.finished_at, row.progress = "failed", message[:2000], utcnow(), None
        move(session, actor=actor, ws=get_workspace(session, ws_id), action="fail", reason=message[:500])


def shred_extract(session: Session, *, platform: Platform, actor: Actor, row: Extract, reason: str) -> None:
    """KEY-06: destroy the extract's key (a surviving copy stays unreadable), then delete its files."""
    key_service.destroy_key(session, actor=actor, key_id=row.key_id, reason=reason)
    platform.store.delete_prefix(row.prefix)
    row.status = "shredded"


# -- lifecycle (SPE-11, GOV-15, KEY-06) ------------------------------------------------------------

ENDED = ("revoked", "expired")


def newest_permit(session: Session, ws: Workspace) -> Permit:
    return session.execute(select(Permit).where(Permit.application_id == ws.application_id)
                           .order_by(Permit.id.desc()).limit(1)).scalar_one()


def ended_permit(session: Session, ws: Workspace, *, now=None) -> Permit | None:
    """The project's newest permit if it no longer allows processing: revoked, expired, or past
    its end before the scheduled check has marked it (entry is refused at once, not at the check)."""
    newest = newest_permit(session, ws)
    return newest if newest.status in ENDED or newest.valid_until <= (now or utcnow()) else None


def why_ended(permit: Permit) -> str:
    return f"{permit.reference} is {permit.status if permit.status in ENDED else 'past its end date'}"


def lock_ended(session: Session, *, now=None) -> list[Workspace]:
    """Lock every workspace whose project's newest permit version was revoked or has expired."""
    locked = []
    for ws in session.execute(select(Workspace).where(Workspace.status.in_(("ready", "provisioning", "failed")))).scalars():
        newest = newest_permit(session, ws)
        if newest.status in ENDED and ws.status == "ready":
            move(session, actor=SYSTEM, ws=ws, action="lock", reason=f"{newest.reference} {newest.status}")
            locked.append(ws)
    stop_jobs_of_locked(session)  # queries are refused from now on; this process's running jobs stop now
    return locked


def stop_jobs_of_locked(session: Session) -> None:
    """Kill this process's jobs in workspaces that are locked, here or by another node's check
    (each node runs the check and kills its own jobs: the node that locks is not always theirs)."""
    for ws_id in running.workspaces():
        if session.get(Workspace, ws_id).status in ("locked", "shredded"):
            running.kill_workspace(ws_id)


def shred_due(session: Session, *, platform: Platform, retention_days: int, now=None) -> list[Workspace]:
    """After the retention period a locked workspace's keys are destroyed and its files deleted;
    its extract specs stay in the catalogue (they hold no data)."""
    limit = (now or utcnow()) - timedelta(days=retention_days)
    due = session.execute(select(Workspace).where(Workspace.status == "locked", Workspace.updated_at <= limit)).scalars().all()
    for ws in due:
        shred_workspace(session, platform=platform, actor=SYSTEM, ws=ws, reason=f"retention of {retention_days} days")
    return list(due)


def shred_workspace(session: Session, *, platform: Platform, actor: Actor, ws: Workspace, reason: str) -> None:
    for row in session.execute(select(Extract).where(Extract.workspace_id == ws.id,
                                                     Extract.status == "ready")).scalars():
        shred_extract(session, platform=platform, actor=actor, row=row, reason=reason)
    for key_id in (ws.pseudonym_key_id, ws.files_key_id):
        if key_id:
            key_service.destroy_key(session, actor=actor, key_id=key_id, reason=reason)
    platform.store.delete_prefix(f"workspaces/{ws.reference}")
    move(session, actor=actor, ws=ws, action="shred", reason=reason)


def pending_permits(session: Session) -> list[int]:
    """Active permits whose project has no workspace yet, or a ready one built from an older
    version: the server provisions them (a failed build waits for the operator's retry)."""
    served = {ws.application_id: ws for ws in session.execute(select(Workspace)).scalars()}
    pending = []
    for permit in session.execute(select(Permit).where(Permit.status == "active").order_by(Permit.id)).scalars():
        ws = served.get(permit.application_id)
        if ws is None or (ws.status == "ready" and ws.permit_id != permit.id):
            pending.append(permit.id)
    return pending


def provision_pending(session: Session, *, keys) -> list[str]:
    """Queue the builds of the permits waiting for one (the workers build them); the workspaces."""
    queued = []
    for permit_id in pending_permits(session):
        row = session.get(Extract, request_provision(session, keys=keys, actor=SYSTEM, permit_id=permit_id))
        queued.append(row.workspace.reference)
    return queued

"""The audit core: record events in the caller's transaction, verify the chain."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bastide.audit.actions import AuditAction
from bastide.audit.models import AuditEvent, AuditHead
from bastide.db import utcnow
from bastide.statemachine import Actor

GENESIS = "0" * 64


def _canonical(event_id: int, at: datetime, actor: str, action: str, target: str, details: dict, prev: str) -> bytes:
    body = {
        "id": event_id,
        "at": at.astimezone(UTC).isoformat(timespec="microseconds"),
        "actor": actor,
        "action": action,
        "target": target,
        "details": details,
        "prev": prev,
    }
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def event_hash(event: AuditEvent) -> str:
    raw = _canonical(event.id, event.at, event.actor, event.action, event.target, event.details, event.prev_hash)
    return hashlib.sha256(raw).hexdigest()


def record(
    session: Session, *, actor: Actor, action: AuditAction, target: str, details: dict[str, Any] | None = None
) -> AuditEvent:
    """Append one event; it commits or rolls back with the caller's write."""
    # Take the write lock before reading the head. PostgreSQL's FOR UPDATE does it; SQLite ignores
    # FOR UPDATE and Python's driver begins the transaction only at the first write, so two
    # writers read the same head and the second failed on a duplicate event id (seen with two
    # workspaces querying at once). A no-op UPDATE is a write: it starts the transaction, waits
    # for the other writer (busy_timeout), and the head is read after that writer's commit.
    session.execute(update(AuditHead).where(AuditHead.id == 1).values(last_id=AuditHead.last_id))
    head = session.execute(select(AuditHead).where(AuditHead.id == 1).with_for_update()).scalar_one_or_none()
    if head is None:
        head = AuditHead(id=1, last_id=0, last_hash=GENESIS)
        session.add(head)
    # JSON round trip so the hash covers exactly what the DB will give back.
    clean = json.loads(json.dumps(details or {}, default=str))
    event = AuditEvent(
        id=head.last_id + 1,
        at=utcnow(),
        actor=actor.id,
        action=str(action),
        target=target,
        details=clean,
        prev_hash=head.last_hash,
    )
    event.hash = event_hash(event)
    head.last_id, head.last_hash = event.id, event.hash
    session.add(event)
    session.flush()
    return event


@dataclass(frozen=True)
class ChainReport:
    events: int
    broken_at: int | None = None
    reason: str | None = None

    @property
    def ok(self) -> bool:
        return self.broken_at is None


def verify_chain(session: Session, *, batch: int = 5000) -> ChainReport:
    """Walk the whole chain; report the first event whose link or content is wrong."""
    prev, expected_id, count, last_id = GENESIS, 1, 0, 0
    while True:
        rows = session.execute(
            select(AuditEvent).where(AuditEvent.id > last_id).order_by(AuditEvent.id).limit(batch)
        ).scalars()
        rows = list(rows)
        if not rows:
            break
        for event in rows:
            if event.id != expected_id:
                return ChainReport(count, expected_id, f"event {expected_id} is missing")
            if event.prev_hash != prev:
                return ChainReport(count, event.id, f"event {event.id} does not link to event {event.id - 1}")
            if event_hash(event) != event.hash:
                return ChainReport(count, event.id, f"event {event.id} was modified after it was written")
            prev, expected_id, count, last_id = event.hash, event.id + 1, count + 1, event.id
        session.expunge_all()
    head = session.get(AuditHead, 1)
    if head is not None and (head.last_id != count or head.last_hash != prev):
        return ChainReport(count, count + 1, f"the chain ends at event {count} but its head says {head.last_id}")
    return ChainReport(count)


def list_events(session: Session, *, target: str | None = None, action: str | None = None,
                limit: int = 100) -> list[AuditEvent]:
    query = select(AuditEvent).order_by(AuditEvent.id.desc()).limit(limit)
    if target:
        query = query.where(AuditEvent.target == target)
    if action:
        query = query.where(AuditEvent.action == action)
    return list(session.execute(query).scalars())


def history(session: Session, *, targets: list[str]) -> list[AuditEvent]:
    """Every event about these records, oldest first: their complete history (AUD-11)."""
    query = select(AuditEvent).where(AuditEvent.target.in_(targets)).order_by(AuditEvent.id)
    return list(session.execute(query).scalars())

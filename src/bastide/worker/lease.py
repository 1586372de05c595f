"""Leases: work one process at a time does (the scheduled checks), held for a while and renewed.

Taking one is a conditional UPDATE — the holder's name set only where it is already this
process's or has expired — so two processes never both hold it, on PostgreSQL or SQLite. A
holder that dies stops renewing and another process takes over once the lease expires. A change
of holder is audited; a renewal is bookkeeping."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from bastide.audit.actions import AuditAction
from bastide.audit.service import record
from bastide.db import utcnow
from bastide.statemachine import SYSTEM
from bastide.worker.models import Lease

CHECKS = "scheduled-checks"
FREE = datetime(1970, 1, 1, tzinfo=UTC)  # a lease nobody holds has expired long ago


def hold(session: Session, *, name: str, holder: str, seconds: float, now: datetime | None = None) -> bool:
    """Take or renew the lease `name` for `holder` until `seconds` from now; whether it holds it."""
    now = now or utcnow()
    before = session.execute(select(Lease.holder).where(Lease.name == name)).scalar_one_or_none()
    if before is None:
        _exists(session, name)
    taken = session.execute(update(Lease).where(Lease.name == name, or_(Lease.holder == holder, Lease.expires_at < now))
                            .values(holder=holder, expires_at=now + timedelta(seconds=seconds))
                            .execution_options(synchronize_session=False)).rowcount
    if taken and before != holder:
        record(session, actor=SYSTEM, action=AuditAction.WORKER_LEASE, target=f"lease:{name}",
               details={"holder": holder, "after": before or None})
    return bool(taken)


def _exists(session: Session, name: str) -> None:
    """The lease's row, free, if there is none yet: then taking it is always the conditional UPDATE
    (of two processes creating it at once, one inserts and the other's insert does nothing)."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    session.execute(insert(Lease).values(name=name, holder="", expires_at=FREE).on_conflict_do_nothing())


def release(session: Session, *, name: str, holder: str) -> None:
    """Let another process take the lease at once (a worker stopping cleanly)."""
    session.execute(update(Lease).where(Lease.name == name, Lease.holder == holder).values(expires_at=utcnow())
                    .execution_options(synchronize_session=False))

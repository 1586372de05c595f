"""Claiming queued work: a row that waits (its `claimed_by` empty) is taken by exactly one process.

Builds and jobs are rows with a status; the API records them and worker processes take them
(bastide.worker). The take is one conditional UPDATE — `claimed_by` set only where it is still
empty — so of two processes racing for a row one gets it and the other finds it taken: on
PostgreSQL the first updater locks the row and the second re-reads it once the first commits; on
SQLite the UPDATE takes the database's write lock. Candidates are looked up oldest first, on
PostgreSQL with FOR UPDATE SKIP LOCKED, so that workers racing for work spread over the rows
instead of waiting on one."""

from __future__ import annotations

import os
import secrets
import socket

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bastide.db import utcnow

CANDIDATES = 8  # rows looked at per try: others may have taken the first ones meanwhile


def process_name(kind: str = "process") -> str:
    """Who claims: the node and the process (what an operator needs to find it), and a random part
    since a pid is reused."""
    return f"{kind}@{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


def take(session: Session, model, *, waiting: tuple, by: str, row_id: int | None = None, free=None):
    """Claim for `by` the oldest row of `model` matching `waiting` that nobody has claimed (that
    row only, with `row_id`); the row, or None when there is none left. In the caller's
    transaction: what the caller records with the claim commits with it, or not at all. `free`
    replaces "nobody has claimed it" for work whose claim goes stale by itself (a notice)."""
    free = model.claimed_by.is_(None) if free is None else free
    query = select(model.id).where(free, *waiting).order_by(model.id).limit(CANDIDATES)
    if row_id is not None:
        query = query.where(model.id == row_id)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    for candidate in session.execute(query).scalars().all():
        taken = session.execute(update(model).where(model.id == candidate, free, *waiting)
                                .values(claimed_by=by, heartbeat_at=utcnow())
                                .execution_options(synchronize_session=False)).rowcount
        if taken:  # read again: what the session had read of the row is older than the claim
            return session.get(model, candidate, populate_existing=True)
    return None

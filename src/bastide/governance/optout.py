"""The opt-out registry (GOV-16, EHDS Art. 71): a person who objected is left out of the data of
every permit issued after the objection; permits issued before are not changed retroactively."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bastide.audit.actions import AuditAction
from bastide.audit.service import record
from bastide.db import utcnow
from bastide.errors import InvalidInput
from bastide.governance.models import OptOut, Permit
from bastide.identity.policy import check_permission
from bastide.identity.roles import Permission
from bastide.statemachine import Actor


def record_optout(session: Session, *, actor: Actor, pseudonym: str, now: datetime | None = None) -> OptOut:
    """Idempotent: a second objection of the same person keeps the first date."""
    check_permission(actor, Permission.OPTOUT_RECORD)
    pseudonym = pseudonym.strip()
    if not pseudonym or len(pseudonym) > 100:
        raise InvalidInput("give the person's pseudonym in the base (BEN_IDT_ANO, or a BEN_NIR_PSA: twins share "
                           "theirs, and both would be left out), never the NIR",
                           details={"field": "pseudonym"}, code="optout_pseudonym")
    existing = session.execute(select(OptOut).where(OptOut.pseudonym == pseudonym)).scalar_one_or_none()
    if existing is not None:
        return existing
    entry = OptOut(pseudonym=pseudonym, recorded_at=now or utcnow())
    session.add(entry)
    session.flush()
    # the audit trail names the entry, not the person: the registry itself is the only list
    record(session, actor=actor, action=AuditAction.OPTOUT_RECORD, target=f"optout:{entry.id}")
    return entry


def excluded(session: Session, *, permit: Permit) -> list[str]:
    """The pseudonyms the permit's extraction leaves out: those recorded by its opt-out date."""
    query = select(OptOut.pseudonym).where(OptOut.recorded_at <= permit.optout_as_of).order_by(OptOut.pseudonym)
    return list(session.execute(query).scalars())


def count(session: Session) -> int:
    return session.execute(select(func.count()).select_from(OptOut)).scalar_one()

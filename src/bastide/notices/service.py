"""Telling people by e-mail what happened to their application or release request (issue 18,
item 9): information requested, the decision, a release out, returned or rejected.

A notice is a row written in the transaction of what happened (`tell`): what is decided is told,
and nothing is told that was rolled back. A worker then claims it (bastide.queue), mails it
through the relay (bastide.notify; the outbox folder on a laptop) and records `notice:send`; a
relay that is down does not hold the decision back: the notice is tried again later, after
longer and longer waits, and given up after MAX_ATTEMPTS (audited, and shown by `bastide
workers`). A worker that dies between the relay's acceptance and its record sends it again once
its claim is stale: a person may get a message twice, never none.

The message is in French, then English, from the catalogues (`mail_<kind>_subject`,
`mail_<kind>_body`), with the link built from BASTIDE_PUBLIC_URL when it is sent. It names the
application or request and what the decider wrote for the person, nothing of the data."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from bastide import i18n, queue
from bastide.audit.actions import AuditAction
from bastide.audit.service import record
from bastide.db import utcnow
from bastide.errors import DomainError
from bastide.identity.policy import check_permission
from bastide.identity.roles import Permission
from bastide.notices.models import Notice
from bastide.notify import Mail, send
from bastide.statemachine import SYSTEM

LOG = logging.getLogger(__name__)

KINDS = frozenset({"information_requested", "decision_granted", "decision_refused", "release_released",
                   "release_returned", "release_rejected", "release_comment"})
MAX_ATTEMPTS = 8
FIRST_WAIT = timedelta(seconds=30)  # then doubled at each failure, up to LONGEST_WAIT
LONGEST_WAIT = timedelta(hours=1)
CLAIM_STALE = timedelta(minutes=5)  # a claim older than this was a worker that died mid-send


def tell(session: Session, *, to: str, kind: str, path: str, **values: str) -> Notice:
    """Record that `to` is to be told `kind` (in the caller's transaction)."""
    if kind not in KINDS:
        raise ValueError(f"no notice {kind!r}")  # a programming error: every kind has its texts
    now = utcnow()
    notice = Notice(kind=kind, recipient=to, values={k: str(v) for k, v in values.items()}, path=path,
                    created_at=now, next_attempt_at=now, attempts=0)
    session.add(notice)
    return notice


def compose(notice: Notice, public_url: str) -> Mail:
    """The message, in both languages, with the link to the page under the public URL."""
    subject, body = i18n.mail(notice.kind, notice.values, public_url.rstrip("/") + notice.path)
    return Mail(to=notice.recipient, subject=subject, body=body)


def claim(session: Session, *, by: str, now: datetime | None = None) -> Notice | None:
    """The oldest notice due that no live worker holds, claimed for `by`."""
    now = now or utcnow()
    due = (Notice.sent_at.is_(None), Notice.given_up_at.is_(None), Notice.next_attempt_at <= now)
    free = or_(Notice.claimed_by.is_(None), Notice.heartbeat_at < now - CLAIM_STALE)
    return queue.take(session, Notice, waiting=due, by=by, free=free)


def deliver(platform, notice_id: int) -> bool:
    """Mail a claimed notice; whether it went (if not, it is tried again later or given up)."""
    with platform.db.unit_of_work() as session:
        notice = session.get(Notice, notice_id)
        mail = compose(notice, platform.settings.public_url)
    try:
        where = send(platform.settings, mail)
    except DomainError as exc:
        _failed(platform, notice_id, exc.message)
        return False
    with platform.db.unit_of_work() as session:
        notice = session.get(Notice, notice_id)
        notice.sent_at, notice.claimed_by, notice.attempts = utcnow(), None, notice.attempts + 1
        record(session, actor=SYSTEM, action=AuditAction.NOTICE_SEND, target=f"notice:{notice_id}",
               details={"kind": notice.kind, "to": notice.recipient, "via": where.rsplit("/", 1)[-1]})
    return True


def _failed(platform, notice_id: int, why: str) -> None:
    with platform.db.unit_of_work() as session:
        notice = session.get(Notice, notice_id)
        notice.attempts, notice.last_error, notice.claimed_by = notice.attempts + 1, why[:500], None
        if notice.attempts >= MAX_ATTEMPTS:
            notice.given_up_at = utcnow()
            record(session, actor=SYSTEM, action=AuditAction.NOTICE_GIVE_UP, target=f"notice:{notice_id}",
                   details={"kind": notice.kind, "to": notice.recipient, "attempts": notice.attempts, "error": why[:200]})
            LOG.error("notice %s to %s given up after %s tries: %s", notice_id, notice.recipient, notice.attempts, why)
        else:
            notice.next_attempt_at = utcnow() + wait_after(notice.attempts)
            LOG.warning("notice %s to %s not sent (try %s): %s", notice_id, notice.recipient, notice.attempts, why)


def wait_after(attempts: int) -> timedelta:
    """How long a notice waits after its `attempts`-th failed try: 30 s, 1 min, 2 min… at most 1 h."""
    return min(FIRST_WAIT * 2 ** (attempts - 1), LONGEST_WAIT)


def retry_given_up(session: Session, *, actor) -> int:
    """Put every notice given up back in the queue, its tries counted afresh (once the relay is
    mended); how many. Audited, one event per notice."""
    check_permission(actor, Permission.USER_MANAGE)
    given_up = session.execute(select(Notice).where(Notice.given_up_at.is_not(None),
                                                    Notice.sent_at.is_(None))).scalars().all()
    now = utcnow()
    for notice in given_up:
        notice.given_up_at, notice.attempts, notice.next_attempt_at, notice.claimed_by = None, 0, now, None
        record(session, actor=actor, action=AuditAction.NOTICE_RETRY, target=f"notice:{notice.id}",
               details={"kind": notice.kind, "to": notice.recipient, "last_error": notice.last_error})
    return len(given_up)


def counts(session: Session) -> dict[str, int]:
    """Notices waiting to be mailed and given up, for the operators (`bastide workers`)."""
    waiting = session.scalar(select(func.count()).select_from(Notice)
                             .where(Notice.sent_at.is_(None), Notice.given_up_at.is_(None)))
    given_up = session.scalar(select(func.count()).select_from(Notice).where(Notice.given_up_at.is_not(None)))
    return {"waiting": waiting or 0, "given_up": given_up or 0}

"""Back-off of failed sign-ins, per account and per source (IAM-04, issue 13).

An account that fails `free` times in a row (`BASTIDE_AUTH_MAX_FAILURES`) then waits before
each further try: 1 s, 2 s, 4 s… up to `BASTIDE_AUTH_BACKOFF_MAX_SECONDS`; a source (an
address) likewise after `BASTIDE_AUTH_SOURCE_FAILURES`. Nobody can lock anyone out for good,
and guessing slows to a crawl. The account key is the e-mail as typed, whether or not such an
account exists, so the answers say nothing of which accounts exist. A success clears both."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from bastide.errors import LimitReached
from bastide.identity.models import LoginThrottle


class TooManyAttempts(LimitReached):
    code = "too_many_attempts"


@dataclass(frozen=True)
class Policy:
    account_free: int
    source_free: int
    longest: timedelta


def policy_of(settings) -> Policy:
    return Policy(settings.auth_max_failures, settings.auth_source_failures,
                  timedelta(seconds=settings.auth_backoff_max_seconds))


def keys(email: str, source: str | None) -> dict[str, str]:
    """The throttled keys of one try, by kind."""
    chosen = {"account": f"account:{email.strip().lower()}"[:400]}
    if source:
        chosen["source"] = f"source:{source}"[:400]
    return chosen


def check(session: Session, tried: dict[str, str], now: datetime) -> None:
    """Refuse a try made before its wait ended (the same answer whatever the account)."""
    waits = [row.blocked_until for row in (session.get(LoginThrottle, key) for key in tried.values())
             if row is not None and row.blocked_until is not None and row.blocked_until > now]
    if waits:
        seconds = int((max(waits) - now).total_seconds()) + 1
        raise TooManyAttempts(f"too many failed sign-ins: try again in {seconds} s", details={"retry_after": seconds})


def failed(session: Session, tried: dict[str, str], policy: Policy, now: datetime) -> None:
    """Count a failure; past the free ones, the next try waits twice as long as the last."""
    for kind, key in tried.items():
        failures = _one_more(session, key, now)
        free = policy.account_free if kind == "account" else policy.source_free
        if failures >= free:
            doubled = failures - free  # past 2^40 s a timedelta overflows: the longest wait long before
            wait = policy.longest if doubled > 40 else min(timedelta(seconds=2 ** doubled), policy.longest)
            session.execute(update(LoginThrottle).where(LoginThrottle.key == key).values(blocked_until=now + wait))


def _one_more(session: Session, key: str, now: datetime) -> int:
    """The key's failures, one more, counted by the database itself (an upsert): read, added to and
    written back here, concurrent failures overwrote each other (63 password checks before a
    5-try limit under a storm), and two first failures of one key both inserted it (a 500)."""
    table = LoginThrottle.__table__
    insert = sqlite_insert if session.get_bind().dialect.name == "sqlite" else postgresql_insert
    upsert = insert(table).values(key=key, failures=1, updated_at=now).on_conflict_do_update(
        index_elements=[table.c.key], set_={"failures": table.c.failures + 1, "updated_at": now})
    return session.execute(upsert.returning(table.c.failures)).scalar_one()


def succeeded(session: Session, tried: dict[str, str]) -> None:
    for key in tried.values():
        row = session.get(LoginThrottle, key)
        if row is not None:
            session.delete(row)


def clear(session: Session, email: str) -> None:
    """An administrator's unlock: the account's count starts again."""
    succeeded(session, keys(email, None))

"""A query answer is a screen view, not an export (issue 13; EHDS Art. 73(1)(e): only
anonymised or disclosure-checked outputs leave a secure processing environment).

Each answer shows at most `workspace_query_rows` rows, and each person may be shown at most
`workspace_daily_rows` rows of a workspace a day (UTC), counted here in the same transaction as
the query's audit event. Past the quota, queries are refused with an answer that names the way
on: save the result as an output and ask for its release through the airlock. Two queries
running at the same moment may together pass the quota by one answer: the count is taken when
a query is let in and added when it ends."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from bastide.db import utcnow
from bastide.errors import LimitReached
from bastide.workspaces.models import ScreenView

AIRLOCK = ("save the result as an output (queries/save, or a job) and ask for its release through the airlock")


class QuotaReached(LimitReached):
    code = "view_quota_reached"


def _today() -> date:
    return utcnow().date()


def _row(session: Session, ws_id: int, person: str, day: date) -> ScreenView | None:
    return session.execute(select(ScreenView).where(ScreenView.workspace_id == ws_id, ScreenView.person == person,
                                                    ScreenView.day == day)).scalar_one_or_none()


def shown(session: Session, *, ws_id: int, person: str, day: date | None = None) -> int:
    row = _row(session, ws_id, person, day or _today())
    return row.rows if row else 0


def remaining(session: Session, *, ws_id: int, person: str, quota: int) -> int:
    """How many more rows `person` may be shown in the workspace today; refused when none."""
    left = quota - shown(session, ws_id=ws_id, person=person)
    if left <= 0:
        raise QuotaReached(f"you were shown {quota:,} rows of this workspace today, its daily limit: to keep or "
                           f"read more, {AIRLOCK}", details={"quota": quota})
    return left


def charge(session: Session, *, ws_id: int, person: str, rows: int) -> None:
    """Count rows shown (the caller records the audit event in the same transaction)."""
    if rows <= 0:
        return
    day = _today()
    row = _row(session, ws_id, person, day)
    if row is None:
        session.add(ScreenView(workspace_id=ws_id, person=person, day=day, rows=rows))
    else:
        row.rows += rows

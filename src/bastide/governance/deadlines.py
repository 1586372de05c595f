"""Due dates of applications (GOV-09): from submission, paused while awaiting the applicant,
extended once with a recorded reason."""

from __future__ import annotations

import calendar
from datetime import datetime, timedelta

from bastide.governance.models import Application

DECISION_MONTHS = {"standard": 3, "accelerated": 2}  # EHDS Art. 68(4); accelerated track 2 (+1)
EXTENSION_MONTHS = {"standard": 3, "accelerated": 1}
APPLICANT_REPLY = timedelta(weeks=4)  # time given to complete an application


def add_months(moment: datetime, months: int) -> datetime:
    month = moment.month - 1 + months
    year, month = moment.year + month // 12, month % 12 + 1
    return moment.replace(year=year, month=month, day=min(moment.day, calendar.monthrange(year, month)[1]))


def paused(app: Application, now: datetime) -> timedelta:
    running = (now - app.paused_at) if app.paused_at is not None else timedelta(0)
    return timedelta(seconds=app.paused_seconds) + running


def decision_due(app: Application, now: datetime) -> datetime | None:
    if app.submitted_at is None or app.decided_at is not None:
        return None
    months = DECISION_MONTHS[app.track] + (EXTENSION_MONTHS[app.track] if app.extended else 0)
    return add_months(app.submitted_at, months) + paused(app, now)


def applicant_reply_due(app: Application) -> datetime | None:
    return app.paused_at + APPLICANT_REPLY if app.paused_at is not None else None


def is_overdue(app: Application, now: datetime) -> bool:
    due = decision_due(app, now)
    return due is not None and app.paused_at is None and now > due

"""Calls for projects: open and close dates, weighted criteria; reviewers score the submitted
applications, the ranking is the weighted mean, and selection moves the chosen ones on."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from bastide.audit.actions import AuditAction
from bastide.audit.service import record
from bastide.db import utcnow
from bastide.errors import Conflict, InvalidInput, NotFound, not_among
from bastide.governance.models import Application, CallForProjects, Score
from bastide.governance.service import act
from bastide.identity.policy import check_permission
from bastide.identity.roles import Permission
from bastide.statemachine import Actor

MAX_SCORE = 5


def _target(call: CallForProjects) -> str:
    return f"call:{call.id}"


def create_call(session: Session, *, actor: Actor, title: str, theme: str, description: str, opens_on: date,
                closes_on: date, criteria: list[dict]) -> CallForProjects:
    check_permission(actor, Permission.CALL_MANAGE)
    if not title.strip() or not theme.strip():
        raise InvalidInput("a call needs a title and a theme", details={"field": "title"}, code="call_incomplete")
    if closes_on < opens_on:
        raise InvalidInput("a call closes after it opens", details={"field": "closes_on"}, code="call_dates")
    names = [str(c.get("name", "")).strip() for c in criteria]
    weights = [c.get("weight", 1) for c in criteria]
    if not criteria or "" in names or len(set(names)) != len(names) or \
            not all(isinstance(w, int | float) and w > 0 for w in weights):
        raise InvalidInput("list the criteria, each with a distinct name and a positive weight",
                           details={"field": "criteria"}, code="call_criteria")
    call = CallForProjects(title=title.strip(), theme=theme.strip(), description=description, opens_on=opens_on,
                           closes_on=closes_on, created_at=utcnow(),
                           criteria=[{"name": n, "weight": w} for n, w in zip(names, weights, strict=True)])
    session.add(call)
    session.flush()
    record(session, actor=actor, action=AuditAction.CALL_CREATE, target=_target(call), details={"title": call.title})
    return call


def get_call(session: Session, call_id: int) -> CallForProjects:
    call = session.get(CallForProjects, call_id)
    if call is None:
        raise NotFound(f"no call for projects {call_id}")
    return call


def list_calls(session: Session) -> list[CallForProjects]:
    return list(session.execute(select(CallForProjects).order_by(CallForProjects.opens_on.desc())).scalars())


def applications_of(session: Session, call: CallForProjects) -> list[Application]:
    query = select(Application).where(Application.call_id == call.id, Application.submitted_at.is_not(None))
    return list(session.execute(query.order_by(Application.id)).scalars())


def score(session: Session, *, actor: Actor, app: Application, criterion: str, value: int, note: str = "") -> Score:
    """A reviewer's mark; scoring again replaces the reviewer's earlier mark on that criterion."""
    check_permission(actor, Permission.APPLICATION_REVIEW)
    call = get_call(session, app.call_id) if app.call_id else None
    if call is None or app.submitted_at is None:
        raise InvalidInput(f"{app.reference} answers no call or is not submitted: nothing to score",
                           code="nothing_to_score")
    if call.selected_at is not None:
        raise Conflict(f"the selection of {call.title!r} is made: scores are final", code="selection_made")
    if criterion not in {c["name"] for c in call.criteria}:
        raise not_among("criterion", [c["name"] for c in call.criteria])
    if not isinstance(value, int) or not 0 <= value <= MAX_SCORE:
        raise InvalidInput(f"a score is a whole number from 0 to {MAX_SCORE}",
                           details={"field": "score", "max": MAX_SCORE}, code="score_range")
    mark = session.execute(select(Score).where(Score.application_id == app.id, Score.reviewer == actor.id,
                                               Score.criterion == criterion)).scalar_one_or_none()
    if mark is None:
        mark = Score(application_id=app.id, reviewer=actor.id, criterion=criterion, score=value, note=note,
                     created_at=utcnow())
        session.add(mark)
    mark.score, mark.note = value, note
    record(session, actor=actor, action=AuditAction.CALL_SCORE, target=f"application:{app.reference}",
           details={"criterion": criterion, "score": value})
    return mark


@dataclass(frozen=True)
class Ranked:
    application: Application
    total: float  # weighted mean over criteria of each criterion's mean over reviewers, 0–5
    reviewers: int


def ranking(session: Session, *, call: CallForProjects) -> list[Ranked]:
    weights = {c["name"]: c["weight"] for c in call.criteria}
    rows = []
    for app in applications_of(session, call):
        marks = session.execute(select(Score).where(Score.application_id == app.id)).scalars().all()
        by_criterion = {name: [m.score for m in marks if m.criterion == name] for name in weights}
        means = {n: sum(v) / len(v) for n, v in by_criterion.items() if v}
        total = sum(means[n] * weights[n] for n in means) / sum(weights.values()) if means else 0.0
        rows.append(Ranked(app, round(total, 3), len({m.reviewer for m in marks})))
    return sorted(rows, key=lambda r: (-r.total, r.application.id))


def select_applications(session: Session, *, actor: Actor, call: CallForProjects, chosen: list[int]) -> list[Application]:
    """Close the call's competition: the chosen applications go to pre-screening (their next step)."""
    check_permission(actor, Permission.CALL_MANAGE)
    if call.selected_at is not None:
        raise Conflict(f"the selection of {call.title!r} was already made", code="selection_made")
    candidates = {a.id: a for a in applications_of(session, call)}
    unknown = sorted(set(chosen) - set(candidates))
    if not chosen or unknown:
        raise InvalidInput("choose among the call's submitted applications", details={"not_in_call": unknown},
                           code="not_in_call")
    call.selected_at = utcnow()
    record(session, actor=actor, action=AuditAction.CALL_SELECT, target=_target(call),
           details={"selected": [candidates[i].reference for i in chosen]})
    return [act(session, actor=actor, app=candidates[i], action="screen") for i in chosen]

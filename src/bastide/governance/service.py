"""Access applications: draft, submit, instruct, decide (GOV-01…GOV-13, GOV-22…GOV-24).

One entry point moves an application (`act`): the transition table checks state and role,
this module checks ownership and each step's conditions. Services never commit.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from bastide.audit.actions import AuditAction
from bastide import transitions
from bastide.audit.service import record
from bastide.catalogue import service as catalogue
from bastide.db import utcnow
from bastide.errors import Conflict, InvalidInput, NotFound, TransitionNotAllowed
from bastide.governance import criteria, deadlines, scope
from bastide.governance.form import Procedure, check_fields, check_submission, check_text
from bastide.governance.models import Application, CallForProjects
from bastide.governance.workflow import APPLICANT, APPLICATION_WORKFLOW, UNDER_INSTRUCTION
from bastide.identity.models import User
from bastide.identity.service import actor_of
from bastide.identity.policy import Forbidden, check_permission, has_permission
from bastide.identity.roles import Permission
from bastide.notices import service as notices
from bastide.statemachine import Actor

EDITABLE = {"draft", "awaiting_additional_information"}
NEEDS_ETHICS = {Procedure.STANDARD}  # CESREES opinion; MR-00x files declare conformity instead (GOV-22)


def _target(app: Application) -> str:
    return f"application:{app.reference}"


def create_application(session: Session, *, actor: Actor, user: User, title: str, procedure: str,
                       form: dict | None = None, call: CallForProjects | None = None) -> Application:
    check_permission(actor, Permission.APPLICATION_CREATE)
    if call is not None:
        check_call_open(call, utcnow())
    if actor.id != actor_of(user).id:
        raise Forbidden("an application is drafted by its applicant")
    try:
        procedure = Procedure(procedure).value
    except ValueError:
        raise InvalidInput(f"procedure must be one of {', '.join(p.value for p in Procedure)}",
                           details={"field": "procedure"}, code="procedure_unknown") from None
    if not title.strip():
        raise InvalidInput("an application needs a title", details={"field": "title"}, code="title_required")
    check_text("title", title)
    check_fields(form or {})
    app = Application(status=APPLICATION_WORKFLOW.initial, applicant=user, organisation=user.organisation,
                      procedure=procedure, title=title.strip(), form=dict(form or {}), assessment={},
                      track="accelerated" if user.organisation.sector == "public" else "standard",
                      call_id=call.id if call else None, created_at=utcnow())
    session.add(app)
    session.flush()
    record(session, actor=actor, action=AuditAction.APPLICATION_CREATE, target=_target(app),
           details={"procedure": procedure, "title": app.title})
    return app


def call_is_open(call: CallForProjects, today: date) -> bool:
    return call.opens_on <= today <= call.closes_on and call.selected_at is None


def check_call_open(call: CallForProjects, now: datetime) -> None:
    """An application answers a call only while it is open (checked on create and on submit)."""
    if not call_is_open(call, now.date()):
        raise Conflict(f"the call {call.title!r} is open from {call.opens_on} to {call.closes_on}", code="call_closed",
                       details={"opens_on": str(call.opens_on), "closes_on": str(call.closes_on)})


def get_application(session: Session, app_id: int) -> Application:
    app = session.get(Application, app_id)
    if app is None:
        raise NotFound(f"no application {app_id}")
    return app


def is_reviewer(actor: Actor) -> bool:
    return has_permission(actor, Permission.APPLICATION_REVIEW) or has_permission(actor, Permission.OPINION_RECORD)


def check_can_read(actor: Actor, app: Application) -> None:
    """The applicant sees their file; the access body sees files once submitted."""
    if actor.id == f"user:{app.applicant.email}" or (is_reviewer(actor) and app.status != "draft"):
        return
    raise Forbidden(f"{app.reference} is not yours to see")


def visible_applications(session: Session, *, actor: Actor) -> list[Application]:
    query = select(Application).order_by(Application.id.desc())
    if is_reviewer(actor):
        query = query.where(Application.status != "draft")
    else:
        check_permission(actor, Permission.APPLICATION_CREATE)
        query = query.join(User, Application.applicant_id == User.id).where(User.email == actor.id.removeprefix("user:"))
    return list(session.execute(query).scalars())


def drafts_of(session: Session, *, actor: Actor) -> list[Application]:
    """The applications `actor` may still change (their own, drafts or asked for information):
    where the data dictionary offers to add a table (none for someone who does not apply)."""
    if not has_permission(actor, Permission.APPLICATION_CREATE):
        return []
    mine = (select(Application).join(User, Application.applicant_id == User.id)
            .where(User.email == actor.id.removeprefix("user:"), Application.status.in_(EDITABLE))
            .order_by(Application.id.desc()))
    return list(session.execute(mine).scalars())


def update_form(session: Session, *, actor: Actor, app: Application, changes: dict) -> Application:
    _check_applicant(actor, app)
    if app.status not in EDITABLE:
        raise Conflict(f"{app.reference} is {app.status}: it can be edited only as a draft or when information "
                       "was asked for", code="not_editable")
    check_fields(changes)
    app.form = {**app.form, **changes}
    record(session, actor=actor, action=AuditAction.APPLICATION_UPDATE, target=_target(app),
           details={"fields": sorted(changes)})
    return app


def _check_applicant(actor: Actor, app: Application) -> None:
    if actor.id != f"user:{app.applicant.email}":
        raise Forbidden(f"only the applicant of {app.reference} may do this")


def check_can_act(actor: Actor, app: Application, action: str) -> None:
    """The transition table allows `action` from the application's state to one of `actor`'s
    roles, and an applicant's action is the applicant's own (raises otherwise)."""
    transition = APPLICATION_WORKFLOW.check(app.status, action, actor)
    if transition.roles == APPLICANT:
        _check_applicant(actor, app)


def can_act(actor: Actor, app: Application, action: str) -> bool:
    try:
        check_can_act(actor, app, action)
    except (TransitionNotAllowed, Forbidden):
        return False
    return True


def actions_for(actor: Actor, app: Application) -> list[str]:
    """What `actor` may do to the application now: the only actions its page offers them (an
    applicant was offered `screen`, and got a 409)."""
    return [action for action in APPLICATION_WORKFLOW.actions_from(app.status) if can_act(actor, app, action)]


def act(session: Session, *, actor: Actor, app: Application, action: str, justification: str | None = None,
        now: datetime | None = None) -> Application:
    """Move an application along its transition table, with each step's conditions."""
    now = now or utcnow()
    check_can_act(actor, app, action)
    STEPS.get(action, lambda *_: None)(session, app, now, justification)
    transitions.apply(session, APPLICATION_WORKFLOW, app, action=action, actor=actor, target=_target(app),
                      details={"justification": justification} if justification else None)
    if action in TOLD:  # the applicant learns it by mail, sent once this transaction commits
        notices.tell(session, to=app.applicant.email, kind=TOLD[action], path=f"/applications/{app.id}",
                     reference=app.reference, title=app.title, justification=justification or "")
    return app


# What the applicant is told by mail, by action (issue 18, item 9)
TOLD = {"request_information": "information_requested", "grant": "decision_granted", "refuse": "decision_refused"}


def _submit(session: Session, app: Application, now: datetime, _justification) -> None:
    check_submission(app.form, sector=app.organisation.sector)
    if app.call_id is not None:
        check_call_open(session.get(CallForProjects, app.call_id), now)
    scope.check(catalogue.get_snapshot(session, app.form["data"]["snapshot"]), app.form["data"])
    app.submitted_at = now


def _ask(_session, app: Application, now: datetime, justification) -> None:
    if not justification:
        raise InvalidInput("say what information is missing", details={"field": "justification"},
                           code="information_unsaid")
    app.paused_at = now  # the decision clock stops while the applicant completes the file


def _answer(_session, app: Application, now: datetime, _justification) -> None:
    app.paused_seconds += int((now - app.paused_at).total_seconds())
    app.paused_at = None


def _grant(_session, app: Application, now: datetime, _justification) -> None:
    criteria.check_decidable(app.assessment)
    if Procedure(app.procedure) in NEEDS_ETHICS and not app.ethics_opinion:
        raise InvalidInput("a standard authorisation needs the CESREES opinion recorded (GOV-22)",
                           code="ethics_opinion_missing")
    if not app.cnil_decision:
        raise InvalidInput("record the CNIL authorisation or the reference-methodology declaration (GOV-22)",
                           code="cnil_decision_missing")
    app.decision, app.decided_at = "granted", now


def _refuse(_session, app: Application, now: datetime, justification) -> None:
    if not justification or not justification.strip():
        raise InvalidInput("a refusal needs its justification; it is published with the decision (GOV-12)",
                           details={"field": "justification"}, code="justification_required")
    app.decision, app.justification, app.decided_at = "refused", justification.strip(), now


STEPS = {"submit": _submit, "request_information": _ask, "provide_information": _answer, "grant": _grant,
         "refuse": _refuse}


def record_opinion(session: Session, *, actor: Actor, app: Application, kind: str, reference: str,
                   on: date, outcome: str) -> Application:
    """CESREES opinion (`ethics`) or CNIL authorisation / MR declaration (`cnil`), GOV-22."""
    check_permission(actor, Permission.OPINION_RECORD)
    if app.status != "processing":
        raise Conflict(f"{app.reference} is {app.status}: opinions are recorded while it is processing",
                       code="opinion_out_of_time")
    if kind not in ("ethics", "cnil") or not reference.strip():
        raise InvalidInput("kind is ethics or cnil, and the reference is mandatory", details={"field": "reference"},
                           code="opinion_incomplete")
    entry = {"reference": reference.strip(), "date": on.isoformat(), "outcome": outcome}
    if kind == "ethics":
        app.ethics_opinion = entry
    else:
        app.cnil_decision = entry
    record(session, actor=actor, action=AuditAction.APPLICATION_OPINION, target=_target(app),
           details={"kind": kind, **entry})
    return app


def assess(session: Session, *, actor: Actor, app: Application, criterion: str, met: bool, note: str) -> Application:
    check_permission(actor, Permission.APPLICATION_REVIEW)
    criteria.check_item(criterion)
    app.assessment = {**app.assessment, criterion: {"met": met, "note": note}}
    record(session, actor=actor, action=AuditAction.APPLICATION_UPDATE, target=_target(app),
           details={"criterion": criterion, "met": met})
    return app


def extend_deadline(session: Session, *, actor: Actor, app: Application, reason: str) -> Application:
    check_permission(actor, Permission.APPLICATION_DECIDE)
    if app.extended:
        raise Conflict(f"the deadline of {app.reference} was already extended once", code="deadline_extended")
    if not reason.strip():
        raise InvalidInput("an extension needs its reason (GOV-09)", details={"field": "reason"}, code="reason_required")
    app.extended, app.extension_reason = True, reason.strip()
    record(session, actor=actor, action=AuditAction.APPLICATION_EXTEND, target=_target(app), details={"reason": reason})
    return app


def instructor_queue(session: Session, *, actor: Actor, now: datetime | None = None) -> list[tuple[Application, datetime | None]]:
    """Applications waiting for the access body, soonest due first, overdue ones included."""
    check_permission(actor, Permission.APPLICATION_REVIEW)
    now = now or utcnow()
    apps = session.execute(select(Application).where(Application.status.in_(UNDER_INSTRUCTION))).scalars()
    rows = [(a, deadlines.decision_due(a, now)) for a in apps]
    return sorted(rows, key=lambda r: (r[1] is None, r[1] or now))

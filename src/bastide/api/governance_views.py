"""/api/applications, /api/queue, /api/permits, /api/calls, /api/optouts, /api/register, /api/audit."""

from __future__ import annotations

import json

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel

from bastide.audit import checkpoints
from bastide.audit import service as audit
from bastide.db import utcnow
from bastide.gate.egress import Egress, allows
from bastide.gate.guards import Applicant, ApplicationReader as Reader, CallManager, Decider, Mover, PermitReader, Recorder, Reviewer
from bastide.gate.request import platform_of as _platform
from bastide.gate.request import unit_of_work as _db
from bastide.gate.request import who as _who
from bastide.governance import calls, optout, permits, register, usecases
from bastide.governance import service as gov
from bastide.governance.models import Application
from bastide.governance.schemas import (ActionIn, ApplicationIn, ApplicationOut, AssessmentIn, CallOut, EventOut,
                                        FormIn, OpinionIn, PermitOut, RankOut, ReasonIn)
from bastide.identity.models import User
from bastide.ids import Id
from bastide.identity.policy import Forbidden, has_permission
from bastide.identity.roles import Permission as P

router = APIRouter(tags=["governance"], dependencies=[allows(Egress.GOVERNANCE)])




def _out(app: Application) -> ApplicationOut:
    return ApplicationOut.build(app, utcnow())


@router.get("/api/applications", response_model=list[ApplicationOut])
def list_applications(request: Request, who: Reader):
    """The caller's own applications, or every submitted one for the access body."""
    with _db(request) as session:
        return [_out(a) for a in gov.visible_applications(session, actor=who.actor)]


@router.post("/api/applications", response_model=ApplicationOut, status_code=201)
def create_application(request: Request, body: ApplicationIn, who: Applicant):
    with _db(request) as session:
        call = calls.get_call(session, body.call_id) if body.call_id is not None else None
        return _out(gov.create_application(session, actor=who.actor, user=session.get(User, who.user_id),
                                           title=body.title, procedure=body.procedure, form=body.form, call=call))


@router.get("/api/applications/{app_id}", response_model=ApplicationOut)
def get_application(request: Request, app_id: int, who: Reader):
    with _db(request) as session:
        return _out(usecases.readable_application(session, who.actor, app_id))


@router.patch("/api/applications/{app_id}", response_model=ApplicationOut)
def update_application(request: Request, app_id: int, body: FormIn, who: Applicant):
    with _db(request) as session:
        return _out(gov.update_form(session, actor=who.actor, app=gov.get_application(session, app_id),
                                    changes=body.changes))


@router.post("/api/applications/{app_id}/actions/{action}", response_model=ApplicationOut)
def act(request: Request, app_id: int, action: str, body: ActionIn, who: Mover):
    """Move the application along the GOV-08 table (docs/workflows.md); `grant` also issues the permit."""
    with _db(request) as session:
        app = usecases.readable_application(session, who.actor, app_id)
        usecases.move(session, actor=who.actor, app=app, action=action, signer=_platform(request).signer,
                      justification=body.justification)
        return _out(app)


@router.post("/api/applications/{app_id}/opinions", response_model=ApplicationOut)
def record_opinion(request: Request, app_id: int, body: OpinionIn, who: Recorder):
    """GOV-22: the CESREES opinion or the CNIL authorisation / MR declaration, with reference and date."""
    with _db(request) as session:
        return _out(gov.record_opinion(session, actor=who.actor, app=gov.get_application(session, app_id),
                                       kind=body.kind, reference=body.reference, on=body.date, outcome=body.outcome))


@router.post("/api/applications/{app_id}/assessment", response_model=ApplicationOut)
def assess(request: Request, app_id: int, body: AssessmentIn, who: Reviewer):
    with _db(request) as session:
        return _out(gov.assess(session, actor=who.actor, app=gov.get_application(session, app_id),
                               criterion=body.criterion, met=body.met, note=body.note))


@router.post("/api/applications/{app_id}/extension", response_model=ApplicationOut)
def extend_deadline(request: Request, app_id: int, body: ReasonIn, who: Decider):
    with _db(request) as session:
        return _out(gov.extend_deadline(session, actor=who.actor, app=gov.get_application(session, app_id),
                                        reason=body.reason))


@router.get("/api/applications/{app_id}/history", response_model=list[EventOut])
def history(request: Request, app_id: int, who: _who(P.APPLICATION_CREATE, P.APPLICATION_REVIEW,
                                                       P.OPINION_RECORD, P.AUDIT_READ)):
    """AUD-11: every status change, decision and permit version of the application, oldest first."""
    with _db(request) as session:
        app = gov.get_application(session, app_id)
        if not has_permission(who.actor, P.AUDIT_READ):
            gov.check_can_read(who.actor, app)
        return [EventOut.build(e) for e in permits.history(session, app)]


@router.get("/api/queue", response_model=list[ApplicationOut])
def queue(request: Request, who: Reviewer):
    """Applications waiting for the access body, soonest due first (overdue ones flagged)."""
    with _db(request) as session:
        return [_out(a) for a, _due in gov.instructor_queue(session, actor=who.actor)]


# -- permits ---------------------------------------------------------------------------------

@router.get("/api/permits", response_model=list[PermitOut])
def list_permits(request: Request, who: PermitReader):
    with _db(request) as session:
        holder = None if has_permission(who.actor, P.APPLICATION_REVIEW) else session.get(User, who.user_id)
        return [PermitOut.build(p) for p in permits.list_permits(session, holder=holder)]


@router.get("/api/permits/{permit_id}", response_model=PermitOut)
def get_permit(request: Request, permit_id: int, who: PermitReader):
    with _db(request) as session:
        return PermitOut.build(usecases.readable_permit(session, who.actor, permit_id))


@router.get("/api/permits/{permit_id}/file",
            responses={200: {"content": {"application/json": {}}, "description": "the signed permit file"}})
def permit_file(request: Request, permit_id: int, who: PermitReader):
    """The signed permit file; `bastide permits verify FILE --public-key …` checks it offline."""
    with _db(request) as session:
        permit = usecases.readable_permit(session, who.actor, permit_id)
        text = permits.export(permit, _platform(request).signer.public_pem())
    return Response(text, media_type="application/json",
                    headers={"Content-Disposition": f'attachment; filename="{permit.reference}.json"'})


class AmendIn(BaseModel):
    changes: dict[str, Any]
    reason: str


class ExtendIn(BaseModel):
    months: int
    reason: str


@router.post("/api/permits/{permit_id}/amend", response_model=PermitOut, status_code=201)
def amend_permit(request: Request, permit_id: int, body: AmendIn, who: Decider):
    with _db(request) as session:
        return PermitOut.build(permits.amend(session, actor=who.actor, permit=permits.get_permit(session, permit_id),
                                             signer=_platform(request).signer, changes=body.changes,
                                             reason=body.reason))


@router.post("/api/permits/{permit_id}/extend", response_model=PermitOut, status_code=201)
def extend_permit(request: Request, permit_id: int, body: ExtendIn, who: Decider):
    with _db(request) as session:
        return PermitOut.build(permits.extend(session, actor=who.actor, permit=permits.get_permit(session, permit_id),
                                              signer=_platform(request).signer, months=body.months,
                                              reason=body.reason))


@router.post("/api/permits/{permit_id}/revoke", response_model=PermitOut)
def revoke_permit(request: Request, permit_id: int, body: ReasonIn, who: Decider):
    with _db(request) as session:
        return PermitOut.build(permits.revoke(session, actor=who.actor, permit=permits.get_permit(session, permit_id),
                                              reason=body.reason))


# -- opt-out registry ----------------------------------------------------------------------------

class OptOutIn(BaseModel):
    pseudonym: str


class OptOutOut(BaseModel):
    id: int
    recorded_at: Any
    registered: int


@router.post("/api/optouts", response_model=OptOutOut, status_code=201)
def record_optout(request: Request, body: OptOutIn, who: _who(P.OPTOUT_RECORD)):
    """GOV-16: permits issued from now on leave this person out."""
    with _db(request) as session:
        entry = optout.record_optout(session, actor=who.actor, pseudonym=body.pseudonym)
        return OptOutOut(id=entry.id, recorded_at=entry.recorded_at, registered=optout.count(session))


# -- calls for projects ----------------------------------------------------------------------

class CallIn(BaseModel):
    title: str
    theme: str
    description: str = ""
    opens_on: date
    closes_on: date
    criteria: list[dict[str, Any]]


class ScoreIn(BaseModel):
    application_id: Id
    criterion: str
    score: int
    note: str = ""


class SelectionIn(BaseModel):
    applications: list[int]


@router.get("/api/calls", response_model=list[CallOut], dependencies=[allows(Egress.PUBLIC)])
def list_calls(request: Request):
    """Public: the calls for projects, open or past."""
    with _db(request) as session:
        return [CallOut.build(c) for c in calls.list_calls(session)]


@router.post("/api/calls", response_model=CallOut, status_code=201)
def create_call(request: Request, body: CallIn, who: CallManager):
    with _db(request) as session:
        return CallOut.build(calls.create_call(session, actor=who.actor, **body.model_dump()))


@router.post("/api/calls/{call_id}/scores", status_code=204)
def score(request: Request, call_id: int, body: ScoreIn, who: Reviewer):
    with _db(request) as session:
        app = gov.get_application(session, body.application_id)
        if app.call_id != call_id:
            raise Forbidden(f"{app.reference} does not answer call {call_id}")
        calls.score(session, actor=who.actor, app=app, criterion=body.criterion, value=body.score, note=body.note)


@router.get("/api/calls/{call_id}/ranking", response_model=list[RankOut])
def ranking(request: Request, call_id: int, who: Reviewer):
    with _db(request) as session:
        return RankOut.ranking(session, calls.get_call(session, call_id))


@router.post("/api/calls/{call_id}/selection", response_model=list[ApplicationOut])
def select(request: Request, call_id: int, body: SelectionIn, who: CallManager):
    with _db(request) as session:
        chosen = calls.select_applications(session, actor=who.actor, call=calls.get_call(session, call_id),
                                           chosen=body.applications)
        return [_out(a) for a in chosen]


# -- public register and audit -------------------------------------------------------------

@router.get("/api/register", dependencies=[allows(Egress.PUBLIC)])
def register_json(request: Request) -> list[dict]:
    """Public (TRA-01…TRA-05): applications from receipt, decisions, permits; nothing confidential."""
    with _db(request) as session:
        return register.entries(session)


@router.get("/api/register.csv", dependencies=[allows(Egress.PUBLIC)],
            responses={200: {"content": {"text/csv": {}}, "description": "the public register, as CSV"}})
def register_csv(request: Request):
    with _db(request) as session:
        text = register.to_csv(register.entries(session))
    return Response(text, media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": 'attachment; filename="registre-public.csv"'})


@router.get("/api/audit/checkpoints", dependencies=[allows(Egress.PUBLIC)])
def audit_checkpoints(request: Request) -> dict:
    """The audit chain's signed checkpoints and the key that signed them: a transparency log
    anyone may keep, and check the platform's chain against (`bastide audit verify --checkpoints`)."""
    with _db(request) as session:
        return json.loads(checkpoints.export(checkpoints.published(session), _platform(request).signer.public_pem()))


@router.get("/api/audit/events", response_model=list[EventOut])
def audit_events(request: Request, who: _who(P.AUDIT_READ), target: str | None = None,
                 limit: Annotated[int, Query(ge=1, le=1000)] = 100):
    with _db(request) as session:
        return [EventOut.build(e) for e in audit.list_events(session, target=target, limit=limit)]

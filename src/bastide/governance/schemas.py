"""What the governance faces (API and pages) take and return."""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, Field

from bastide.audit.models import AuditEvent
from bastide.db import utcnow
from bastide.governance import calls, deadlines
from bastide.governance.service import call_is_open
from bastide.governance.models import Application, Permit
from bastide.governance.workflow import APPLICATION_WORKFLOW
from bastide.ids import Id


class ApplicationIn(BaseModel):
    title: str
    procedure: str = Field(description="standard, MR-004…MR-008, egb-simplified, permanent (GOV-23).")
    form: dict[str, Any] = Field(default_factory=dict, description="Art. 67(2) elements; may be partial in a draft.")
    call_id: Id | None = None


class FormIn(BaseModel):
    changes: dict[str, Any]


class ActionIn(BaseModel):
    justification: str | None = None


class OpinionIn(BaseModel):
    kind: str = Field(description="ethics (CESREES) or cnil (authorisation or MR declaration).")
    reference: str
    date: date
    outcome: str


class AssessmentIn(BaseModel):
    criterion: str = Field(description="Art. 68(1) letter a–h, or risk_a / risk_b for the Art. 68(2) risks "
                                       "(met: mitigated or absent).")
    met: bool
    note: str = ""


class ReasonIn(BaseModel):
    reason: str


class ApplicationOut(BaseModel):
    id: int
    reference: str
    title: str
    status: str
    procedure: str
    track: str
    applicant: str
    organisation: str
    call_id: int | None
    form: dict[str, Any]
    ethics_opinion: dict | None
    cnil_decision: dict | None
    assessment: dict[str, Any]
    decision: str | None
    justification: str | None
    submitted_at: datetime | None
    decided_at: datetime | None
    decision_due: datetime | None
    applicant_reply_due: datetime | None
    overdue: bool
    extended: bool
    next_actions: list[str] = Field(description="Actions the transition table allows from this state.")

    @classmethod
    def build(cls, app: Application, now: datetime) -> ApplicationOut:
        return cls(id=app.id, reference=app.reference, title=app.title, status=app.status, procedure=app.procedure,
                   track=app.track, applicant=app.applicant.email, organisation=app.organisation.name,
                   call_id=app.call_id, form=app.form, ethics_opinion=app.ethics_opinion,
                   cnil_decision=app.cnil_decision, assessment=app.assessment, decision=app.decision,
                   justification=app.justification, submitted_at=app.submitted_at, decided_at=app.decided_at,
                   decision_due=deadlines.decision_due(app, now), applicant_reply_due=deadlines.applicant_reply_due(app),
                   overdue=deadlines.is_overdue(app, now), extended=app.extended,
                   next_actions=APPLICATION_WORKFLOW.actions_from(app.status))


class PermitOut(BaseModel):
    id: int
    reference: str
    application: str
    version: int
    status: str
    valid_from: datetime
    valid_until: datetime
    extended: bool
    status_reason: str | None
    document: dict[str, Any]
    signature: str

    @classmethod
    def build(cls, p: Permit) -> PermitOut:
        return cls(id=p.id, reference=p.reference, application=p.application.reference, version=p.version,
                   status=p.status, valid_from=p.valid_from, valid_until=p.valid_until, extended=p.extended,
                   status_reason=p.status_reason,
                   document=json.loads(p.document), signature=p.signature)


class EventOut(BaseModel):
    id: int
    at: datetime
    actor: str
    action: str
    target: str
    details: dict[str, Any]

    @classmethod
    def build(cls, e: AuditEvent) -> EventOut:
        return cls(id=e.id, at=e.at, actor=e.actor, action=e.action, target=e.target, details=e.details)


class CallOut(BaseModel):
    id: int
    title: str
    theme: str
    description: str
    opens_on: date
    closes_on: date
    criteria: list[dict[str, Any]]
    open: bool
    selected: bool

    @classmethod
    def build(cls, c) -> CallOut:
        return cls(id=c.id, title=c.title, theme=c.theme, description=c.description, opens_on=c.opens_on,
                   closes_on=c.closes_on, criteria=c.criteria, open=call_is_open(c, utcnow().date()),
                   selected=c.selected_at is not None)


class RankOut(BaseModel):
    rank: int
    application: str
    application_id: int
    title: str
    total: float
    reviewers: int

    @classmethod
    def ranking(cls, session, call) -> list[RankOut]:
        """The call's applications, best total first (governance.calls.ranking)."""
        return [cls(rank=i, application=r.application.reference, application_id=r.application.id,
                    title=r.application.title, total=r.total, reviewers=r.reviewers)
                for i, r in enumerate(calls.ranking(session, call=call), start=1)]

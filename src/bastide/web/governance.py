"""The governance pages: applications (form, status, history), the instructor's queue, the
decision screen, opinions, permits, calls for projects and the public register."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, Field

from bastide.db import utcnow
from bastide.errors import DomainError, InvalidInput, NotFound
from bastide.gate.auth import Principal, peek
from bastide.gate.egress import Egress, allows
from bastide.gate.guards import Applicant, ApplicationReader as Reader, CallManager, Decider, Mover, PermitReader, Recorder, Reviewer
from bastide.gate.request import platform_of as _platform
from bastide.gate.request import unit_of_work as _db
from bastide.gate.request import who
from bastide.catalogue import dictionary
from bastide.catalogue import service as catalogue
from bastide.governance import calls, criteria, permits, register, scope, usecases
from bastide.governance import service as gov
from bastide.governance.form import ENGINES, PURPOSES, Procedure
from bastide.governance.schemas import ApplicationOut, CallOut, PermitOut, RankOut
from bastide.identity.models import User
from bastide.identity.policy import has_permission
from bastide.identity.roles import Permission as P
from bastide.web.forms import (FORM_FIELDS, SCOPE, fields_from_form, form_from_fields, form_id, invalid_fields,
                               on_page, read_form, scope_from_form)
from bastide.web.render import Fields, render, see_other, unconfirmed

router = APIRouter(include_in_schema=False, dependencies=[allows(Egress.GOVERNANCE)])


# -- applications --------------------------------------------------------------------------

@router.get("/applications", response_class=HTMLResponse)
def applications(request: Request, who: Reader):
    with _db(request) as session:
        rows = [ApplicationOut.build(a, utcnow()) for a in gov.visible_applications(session, actor=who.actor)]
        open_calls = [c for c in calls.list_calls(session) if gov.call_is_open(c, utcnow().date())]
    return render(request, "applications.html", {"applications": rows, "procedures": [p.value for p in Procedure],
                                                 "calls": open_calls}, who=who)


@router.post("/applications")
def create_application(request: Request, who: Applicant, fields: Fields):
    with _db(request) as session:
        call_id = form_id(fields, "call_id")
        app = gov.create_application(session, actor=who.actor, user=session.get(User, who.user_id),
                                     title=str(fields.get("title", "")), procedure=str(fields.get("procedure", "")),
                                     call=calls.get_call(session, call_id) if call_id else None)
    return see_other(f"/applications/{app.id}")


# The applicant's actions that send the form: offered at the end of the form, where saving comes
# first, never above it where a click lost what was typed (issue 18, item 3)
FORM_ACTIONS = ("submit", "provide_information")


def _application_page(request: Request, who: Principal, app_id: int, error: DomainError | None = None,
                      typed: dict[str, str] | None = None, typed_scope: dict | None = None) -> HTMLResponse:
    """The application; after a refused change, with what the person typed and the error beside
    its field (nothing typed is lost)."""
    with _db(request) as session:
        app = usecases.readable_application(session, who.actor, app_id)
        mine, editable = who.actor.id == f"user:{app.applicant.email}", app.status in gov.EDITABLE
        actions = gov.actions_for(who.actor, app)
        sending = [a for a in actions if a in FORM_ACTIONS] if mine and editable else []
        data = _data_shown(app.form, typed, typed_scope)
        context = {"app": ApplicationOut.build(app, utcnow()), "form_fields": FORM_FIELDS, "purposes": PURPOSES,
                   "fields": {**fields_from_form(app.form), **(typed or {})}, "invalid": invalid_fields(error),
                   "engines": ENGINES, "error": error, "mine": mine, "editable": editable,
                   "actions": [a for a in actions if a not in sending], "sending": sending,
                   "permits": [(p.id, p.reference, p.status) for p in permits.of_application(session, app)],
                   "history": permits.history(session, app),
                   **_scope_context(session, data, builder=mine and editable)}
    return render(request, "application.html", context, who=who, status=error.http_status if error else 200)


def _data_shown(form: dict, typed: dict[str, str] | None, typed_scope: dict | None) -> dict:
    """The data scope the page shows: as saved, or as typed when a change was refused."""
    data = dict(form.get("data") or {})
    if typed:
        try:
            data.update(form_from_fields(typed).get("data") or {})
        except DomainError:
            pass  # the very value refused: the page shows it typed, the scope as saved
    return {**data, **(typed_scope or {})}


def _scope_context(session, data: dict, *, builder: bool) -> dict:
    """The releases to choose from and the release's tables and variables to tick (`builder`: the
    applicant's editable form only), what is wrong or doubtful in the scope (issue 18, item 2), the
    extract's shape from the catalogue's counts, the codes' labels."""
    release = _release(session, data.get("snapshot"))
    found = scope.problems(release, data) if release else []
    return {"releases": [s.ref for s in dictionary.published(session)] if builder else [], "release": release,
            "builder": scope.choices(release, data) if release and builder else None,
            "problems": {f: [p for p in found if p.field == f] for f in {p.field for p in found}},
            "shape": scope.shape(release, data) if release else [],
            "labels": scope.labels(data.get("population") or {}), "code_lists": scope.CODES}


def _release(session, ref) -> object | None:
    if not ref or not isinstance(ref, str):
        return None
    try:
        return catalogue.get_snapshot(session, ref)
    except (NotFound, InvalidInput):
        return None


@router.get("/applications/{app_id}", response_class=HTMLResponse)
def application(request: Request, app_id: int, who: Reader):
    return _application_page(request, who, app_id)


@router.post("/applications/{app_id}/form", response_class=HTMLResponse)
def update_form(request: Request, app_id: int, who: Applicant, fields: Fields):
    """Save the form; then, if asked (`then`), submit it or send the information asked for. What
    was typed is saved before anything can refuse the sending, and shown again if refused."""
    typed = {k: str(v) for k, v in fields.items() if k not in ("csrf_token", "then", SCOPE)
             and not k.startswith("scope_")}
    ticked, then = scope_from_form(fields), str(fields.get("then", ""))
    try:
        with _db(request) as session:
            changes = form_from_fields(typed)
            if ticked is not None:
                changes["data"] = {**changes.get("data", {}), **ticked}
            gov.update_form(session, actor=who.actor, app=gov.get_application(session, app_id), changes=changes)
        if then in FORM_ACTIONS:
            with _db(request) as session:
                gov.act(session, actor=who.actor, app=gov.get_application(session, app_id), action=then)
    except DomainError as exc:
        return _application_page(request, who, app_id, exc, typed=typed, typed_scope=ticked)
    return see_other(f"/applications/{app_id}")


@router.post("/applications/codes")
def add_codes(request: Request, who: Applicant, fields: Fields):
    """The nomenclature browser's "add to my application": the codes ticked join a criterion of
    the application chosen; the applicant lands on its criteria."""
    app_id = form_id(fields, "application")
    if app_id is None:
        raise InvalidInput("choose the application to add the codes to", details={"field": "application"},
                           code="choose_application")
    criterion = str(fields.get("criterion", ""))
    with _db(request) as session:
        usecases.add_codes(session, actor=who.actor, app=gov.get_application(session, app_id), criterion=criterion,
                           codes=[str(c) for c in fields.getlist("code")])
    return see_other(f"/applications/{app_id}#f_{criterion}")


@router.post("/applications/scope")
def add_to_scope(request: Request, who: Applicant, fields: Fields):
    """The dictionary's "add to my application" (issue 18, item 1): a table, with the variables
    ticked, joins the scope of the application chosen; the applicant lands on it to go on."""
    ref, table, app_id = str(fields.get("release", "")), str(fields.get("table", "")), form_id(fields, "application")
    if app_id is None:
        raise InvalidInput("choose the application to add the table to", details={"field": "application"},
                           code="choose_application")
    with _db(request) as session:
        usecases.add_to_scope(session, actor=who.actor, app=gov.get_application(session, app_id),
                              snapshot=catalogue.get_snapshot(session, ref), table=table,
                              variables=[str(v) for v in fields.getlist("variable")])
    return see_other(f"/applications/{app_id}#scope")


# Decisions that cannot be taken back: the page asks once more, saying what follows (issue 18,
# item 3), in a form of its own that works without JavaScript. The API takes them at once.
IRREVERSIBLE = frozenset({"grant", "refuse", "withdraw"})


@router.post("/applications/{app_id}/act", response_class=HTMLResponse)
def act(request: Request, app_id: int, who: Mover, fields: Fields):
    action, justification = str(fields.get("action", "")), str(fields.get("justification", "")).strip() or None
    try:
        with _db(request) as session:
            app = usecases.readable_application(session, who.actor, app_id)
            if action in IRREVERSIBLE:
                gov.check_can_act(who.actor, app, action)  # never ask to confirm what cannot be done
                asking = unconfirmed(request, fields, act=action, subject=f"{app.reference} — {app.title}",
                                      back=f"/applications/{app_id}")
                if asking is not None:
                    return asking
            if action == "grant":
                permits.grant(session, actor=who.actor, app=app, signer=_platform(request).signer)
            else:
                gov.act(session, actor=who.actor, app=app, action=action, justification=justification)
    except DomainError as exc:
        return _application_page(request, who, app_id, exc)
    return see_other(f"/applications/{app_id}")


@router.get("/queue", response_class=HTMLResponse)
def queue(request: Request, who: Reviewer):
    with _db(request) as session:
        rows = [ApplicationOut.build(a, utcnow()) for a, _ in gov.instructor_queue(session, actor=who.actor)]
    return render(request, "queue.html", {"applications": rows}, who=who)


@router.get("/applications/{app_id}/decision", response_class=HTMLResponse)
def decision(request: Request, app_id: int, who: who(P.APPLICATION_REVIEW, P.OPINION_RECORD)):
    with _db(request) as session:
        app = usecases.readable_application(session, who.actor, app_id)
        context = {"app": ApplicationOut.build(app, utcnow()), "criteria": on_page(criteria.CRITERIA),
                   "risks": on_page(criteria.RISKS), "legal_text": criteria.LEGAL_TEXT, "kinds": dict(FORM_FIELDS),
                   "fields": fields_from_form(app.form), "form_fields": FORM_FIELDS,
                   **_scope_context(session, dict(app.form.get("data") or {}), builder=False)}
    return render(request, "decision.html", context, who=who)


@router.post("/applications/{app_id}/assess")
def assess(request: Request, app_id: int, who: Reviewer, fields: Fields):
    with _db(request) as session:
        app = gov.get_application(session, app_id)
        for criterion in criteria.ITEMS:
            if f"met_{criterion}" in fields:
                gov.assess(session, actor=who.actor, app=app, criterion=criterion,
                           met=fields[f"met_{criterion}"] == "yes", note=str(fields.get(f"note_{criterion}", "")))
    return see_other(f"/applications/{app_id}/decision")


@router.post("/applications/{app_id}/opinion")
def opinion(request: Request, app_id: int, who: Recorder, fields: Fields):
    said = read_form(OpinionForm, fields)
    with _db(request) as session:
        gov.record_opinion(session, actor=who.actor, app=gov.get_application(session, app_id), kind=said.kind,
                           reference=said.reference, on=said.date, outcome=said.outcome)
    return see_other(f"/applications/{app_id}/decision")


# -- permits, calls, register --------------------------------------------------------------

@router.get("/permits/{permit_id}", response_class=HTMLResponse)
def permit(request: Request, permit_id: int, who: PermitReader):
    with _db(request) as session:
        p = usecases.readable_permit(session, who.actor, permit_id)
        context = {"permit": PermitOut.build(p)}
    return render(request, "permit.html", context, who=who)


@router.get("/register", response_class=HTMLResponse, dependencies=[allows(Egress.PUBLIC)])
def register_page(request: Request):
    with _db(request) as session:
        rows = register.entries(session)
    return render(request, "register.html", {"entries": rows})


# -- calls for projects ------------------------------------------------------------------------

@router.post("/permits/{permit_id}/extend")
def extend_permit(request: Request, permit_id: int, who: Decider, fields: Fields):
    said = read_form(ExtensionForm, fields)
    with _db(request) as session:
        new = permits.extend(session, actor=who.actor, permit=permits.get_permit(session, permit_id),
                             signer=_platform(request).signer, months=said.months, reason=said.reason)
    return see_other(f"/permits/{new.id}")


@router.post("/permits/{permit_id}/revoke")
def revoke_permit(request: Request, permit_id: int, who: Decider, fields: Fields):
    with _db(request) as session:
        permits.revoke(session, actor=who.actor, permit=permits.get_permit(session, permit_id),
                       reason=str(fields.get("reason", "")))
    return see_other(f"/permits/{permit_id}")


@router.post("/applications/{app_id}/extension")
def extend_deadline(request: Request, app_id: int, who: Decider, fields: Fields):
    with _db(request) as session:
        gov.extend_deadline(session, actor=who.actor, app=gov.get_application(session, app_id),
                            reason=str(fields.get("reason", "")))
    return see_other(f"/applications/{app_id}/decision")


@router.get("/calls", response_class=HTMLResponse, dependencies=[allows(Egress.PUBLIC)])
def calls_page(request: Request):
    with _db(request) as session:
        rows = [CallOut.build(c) for c in calls.list_calls(session)]
    return render(request, "calls.html", {"calls": rows, "today": date.today()})


@router.post("/calls")
def create_call(request: Request, who: CallManager, fields: Fields):
    """Criteria are written one per line as `name` or `name: weight`."""
    said = read_form(CallForm, fields)
    with _db(request) as session:
        call = calls.create_call(session, actor=who.actor, title=said.title, theme=said.theme,
                                 description=said.description, opens_on=said.opens_on, closes_on=said.closes_on,
                                 criteria=said.weighted_criteria())
    return see_other(f"/calls/{call.id}")


class OpinionForm(BaseModel):
    """GOV-22: the CESREES opinion or the CNIL decision, as the decision screen's form sends it."""
    kind: str = ""
    reference: str = ""
    date: date
    outcome: str = ""


class ExtensionForm(BaseModel):
    months: int
    reason: str = ""


class CallForm(BaseModel):
    title: str = ""
    theme: str = ""
    description: str = ""
    opens_on: date
    closes_on: date
    criteria: str = Field("", description="One per line: `name` or `name: weight`.")

    def weighted_criteria(self) -> list[dict]:
        return [_criterion(line) for line in self.criteria.splitlines() if line.strip()]


def _criterion(line: str) -> dict:
    name, _, weight = line.partition(":")
    try:
        return {"name": name.strip(), "weight": float(weight) if weight.strip() else 1}
    except ValueError:
        raise InvalidInput(f"{line.strip()!r}: a criterion's weight is a number (`science: 2`)",
                           details={"field": "criteria"}, code="weight_number") from None


@router.get("/calls/{call_id}", response_class=HTMLResponse)
def call_page(request: Request, call_id: int):
    """Public: the call and its criteria; reviewers also see the ranking, score, and select."""
    who = peek(request)
    with _db(request) as session:
        call = calls.get_call(session, call_id)
        reviewer = who is not None and has_permission(who.actor, P.APPLICATION_REVIEW)
        ranking = RankOut.ranking(session, call) if reviewer else None
        context = {"call": CallOut.build(call), "ranking": ranking}
    return render(request, "call.html", context, who=who)


@router.post("/calls/{call_id}/scores")
def score_call(request: Request, call_id: int, who: Reviewer, fields: Fields):
    with _db(request) as session:
        call = calls.get_call(session, call_id)
        candidates = {a.id: a for a in calls.applications_of(session, call)}
        for key, value in fields.multi_items():
            if not key.startswith("score:") or value == "":
                continue
            _, app_id, criterion = key.split(":", 2)
            if not app_id.isdigit() or int(app_id) not in candidates or not str(value).isdigit():
                raise InvalidInput(f"{key} is not a score of this call's applications", details={"field": key},
                                   code="not_a_score")
            calls.score(session, actor=who.actor, app=candidates[int(app_id)], criterion=criterion, value=int(value))
    return see_other(f"/calls/{call_id}")


@router.post("/calls/{call_id}/selection")
def select_call(request: Request, call_id: int, who: CallManager, fields: Fields):
    chosen = [int(v) for v in fields.getlist("selected") if str(v).isdigit()]
    with _db(request) as session:
        calls.select_applications(session, actor=who.actor, call=calls.get_call(session, call_id), chosen=chosen)
    return see_other(f"/calls/{call_id}")



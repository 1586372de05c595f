"""Server-rendered pages, French and English: sign-in with MFA, activation with a QR code, terms of
use, applications, the instructor's queue, the decision screen, permits, calls, the public register.

They work without JavaScript; every form posts the session's CSRF token. Pages call the same
services as the API, inside the same guards."""

from __future__ import annotations

import re
from datetime import date, timedelta
from pathlib import Path
from typing import Annotated
from urllib.parse import quote, urlsplit

from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader
from markupsafe import Markup
from starlette.datastructures import FormData

from bastide.airlock import service as airlock
from bastide.catalogue import service as catalogue
from bastide.airlock.tables import is_evidence
from bastide.api import airlock_views as av
from bastide.api import governance_views as gv
from bastide.api import workspace_views as wv
from bastide.api.egress import Egress, allows
from bastide.api.auth import SESSION_COOKIE, Principal, TermsRequired, cookie_options, guard, peek
from bastide.api.identity_views import end_session, sign_in, with_link
from bastide.db import utcnow
from bastide.errors import Conflict, DomainError, InvalidInput, NotFound, TransitionNotAllowed
from bastide.governance import calls, permits, register
from bastide.governance import service as gov
from bastide.governance.form import ENGINES, PURPOSES, Procedure
from bastide.governance.schemas import ApplicationOut
from bastide.identity import admin, credentials, invitations
from bastide.identity import service as identity
from bastide.identity.models import User
from bastide.identity.policy import has_permission
from bastide.identity.roles import Permission as P
from bastide.identity.roles import Role
from bastide.inbox import service as inbox
from bastide.identity.schemas import EnrolmentOut, UserOut
from bastide.web import i18n
from bastide.web.forms import FORM_FIELDS, fields_from_form, form_from_fields, form_id, invalid_fields
from bastide.worker import service as workers
from bastide.workspaces import query
from bastide.workspaces import service as workspaces_of

def _templates(lang: str) -> Jinja2Templates:
    """The pages in one language: jinja2's i18n extension with that language's catalogue, so a
    template's `_('code')` is its text (Babel extracts those calls; web/i18n.py)."""
    env = Environment(loader=FileSystemLoader(Path(__file__).parent / "templates"), autoescape=True,
                      extensions=["jinja2.ext.i18n"])
    words = i18n.gettext(lang)
    env.install_gettext_callables(words, i18n.ngettext(lang), newstyle=True)
    env.globals["state"] = _state_in(words)
    env.globals["error_kind"] = lambda exc: type(exc).code  # its class's code, titled in words (`error_<code>`)
    return Jinja2Templates(env=env)


def _state_in(words):
    def state(code: str, family: str = "state", id: str | None = None) -> Markup:
        """A status shown in words, its code kept in `data-state` for scripts and tests: what a
        person reads is `en instruction`, never `processing`."""
        attributes = Markup(' id="{}"').format(id) if id else Markup()
        return Markup('<span class="state"{} data-state="{}">{}</span>').format(
            attributes, code, words(f"{family}_{code}"))

    return state


TEMPLATES = {lang: _templates(lang) for lang in i18n.LANGUAGES}
router = APIRouter(include_in_schema=False, dependencies=[allows(Egress.GOVERNANCE)])
HOME = "/home"  # where a signed-in person lands: what waits for them (issue 18)


async def _form(request: Request) -> FormData:
    return await request.form()


# Handlers are plain functions (run in the thread pool, since they use the database); the form
# is read by this async dependency before them.
Fields = Annotated[FormData, Depends(_form)]


def _who(*permissions: P, terms: bool = True):
    return Annotated[Principal, Depends(guard(*permissions, terms=terms))]


def language(request: Request) -> str:
    return i18n.pick_language(request.query_params.get("lang"), request.cookies.get("lang"),
                              request.headers.get("accept-language"))


def render(request: Request, template: str, context: dict, *, who: Principal | None = None,
           status: int = 200) -> HTMLResponse:
    lang = language(request)
    who = who or getattr(request.state, "principal", None) or peek(request)
    response = TEMPLATES[lang].TemplateResponse(request, template, {
        **context, "lang": lang, "who": who, "csrf": who.csrf if who else None,
        "can": (lambda p: who is not None and has_permission(who.actor, P(p))), "here": _here(request),
    }, status_code=status)
    if request.query_params.get("lang") in i18n.LANGUAGES:
        _keep_language(response, lang)
    return response


def _keep_language(response: Response, lang: str) -> None:
    response.set_cookie("lang", lang, max_age=365 * 86400, samesite="lax", secure=True, httponly=True)


def _here(request: Request) -> str:
    """The page to come back to after switching language: this one if it can be asked for again
    (a GET), else the page whose form was posted (switching after a POST was a 405 before)."""
    if request.method == "GET":
        return request.url.path + (f"?{request.url.query}" if request.url.query else "")
    referer = urlsplit(request.headers.get("referer", ""))
    same_site = referer.netloc in ("", request.url.netloc)
    return _safe_next(referer.path + (f"?{referer.query}" if referer.query else "")) if same_site else HOME


STATIC = Path(__file__).parent / "static"
STATIC_FILES = frozenset(f.name for f in STATIC.iterdir() if f.is_file())  # served by name, nothing else


@router.get("/static/{name}", dependencies=[allows(Egress.PUBLIC)])
def static_file(name: str) -> FileResponse:
    """The pages' style sheet: a file of web/static named exactly, nothing else (deny by default)."""
    if name not in STATIC_FILES:
        raise NotFound(f"no file {name} here")
    return FileResponse(STATIC / name, headers={"Cache-Control": "public, max-age=3600"})


@router.get("/lang/{code}", dependencies=[allows(Egress.NO_CONTENT)])
def switch_language(request: Request, code: str, next: str = "/"):
    """Keep the chosen language (a cookie) and go back to the page it was chosen on."""
    if code not in i18n.LANGUAGES:
        raise InvalidInput(f"the languages are {', '.join(i18n.LANGUAGES)}", details={"field": "code"})
    response = see_other(_safe_next(re.sub(r"([?&])lang=[a-z]+&?", r"\1", next).rstrip("?&") or "/"))
    _keep_language(response, code)
    return response


def see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def error_page(request: Request, exc: DomainError) -> Response:
    """Pages turn an unauthenticated visit into the sign-in page, a pending terms version into
    the terms page, and any other domain error into a page saying what was wrong."""
    if isinstance(exc, credentials.NotAuthenticated) and request.method == "GET":
        return see_other(f"/login?next={quote(request.url.path)}")
    if isinstance(exc, TermsRequired) and request.method == "GET":
        return see_other(f"/terms?next={quote(request.url.path)}")
    response = render(request, "error.html", {"error": exc}, status=exc.http_status)
    response.headers["X-Error-Code"] = exc.code  # the same code the API's envelope would carry
    return response


@router.get("/", response_class=HTMLResponse, dependencies=[allows(Egress.PUBLIC)])
def home(request: Request):
    with gv._db(request) as session:
        datasets = catalogue.public_datasets(session)
    return render(request, "catalogue.html", {"datasets": datasets})


@router.get(HOME, response_class=HTMLResponse, dependencies=[allows(Egress.GOVERNANCE)])
def home_page(request: Request, who: _who()):
    """Where a person lands once signed in: what waits for them, for each role they hold (issue 18)."""
    with gv._db(request) as session:
        sections = inbox.for_person(session, actor=who.actor, user=identity.get_user(session, who.actor.id[5:]))
    by_role = [(role, [s for s in sections if s.role == role]) for role in dict.fromkeys(s.role for s in sections)]
    return render(request, "home.html", {"by_role": by_role, "link": _link}, who=who)


def _link(item: inbox.Item) -> str | None:
    """The page where the person acts on `item` (None: nothing to open)."""
    pages = {"application": "/applications/{id}", "workspace": "/workspaces/{id}", "release": "/releases/{id}",
             "import": "/airlock#imports", "account": "/admin/users", "snapshot": "/"}
    return pages[item.kind].format(id=item.id) if item.kind in pages else None


# -- sign-in, activation, terms ------------------------------------------------------------

@router.get("/login", response_class=HTMLResponse, dependencies=[allows(Egress.PUBLIC)])
def login_page(request: Request, next: str = HOME):
    return render(request, "login.html", {"next": next, "activated": "activated" in request.query_params})


def _safe_next(target: str) -> str:
    return target if target.startswith("/") and not target.startswith("//") else HOME


@router.post("/login", response_class=HTMLResponse, dependencies=[allows(Egress.ACCOUNT)])
async def login(request: Request, fields: Fields):
    try:
        user, secret = await sign_in(request, email=str(fields.get("email", "")), password=str(fields.get("password", "")),
                               code=str(fields.get("code", "")))
    except DomainError as exc:
        return render(request, "login.html", {"next": fields.get("next", HOME), "error": exc},
                      status=exc.http_status)
    response = see_other(_safe_next(str(fields.get("next", HOME))))
    response.set_cookie(SESSION_COOKIE, secret, **cookie_options(request))
    return response


@router.post("/logout")
def logout(request: Request, who: _who(terms=False)):
    end_session(request)
    response = see_other("/")
    response.delete_cookie(SESSION_COOKIE, **cookie_options(request))
    return response


@router.get("/activate/{secret}", response_class=HTMLResponse, dependencies=[allows(Egress.ACCOUNT)])
def activate_page(request: Request, secret: str):
    """A link's page asks for what the link needs: a new password, the current one, or a code."""
    try:
        with request.app.state.platform.db.unit_of_work() as session:
            kind = credentials.activation_kind(session, secret)
    except DomainError as exc:
        return render(request, "activate.html", {"secret": secret, "kind": None, "error": exc}, status=exc.http_status)
    return render(request, "activate.html", {"secret": secret, "kind": kind})


@router.post("/activate/{secret}", response_class=HTMLResponse, dependencies=[allows(Egress.ACCOUNT)])
def activate(request: Request, secret: str, fields: Fields):
    platform, kind = request.app.state.platform, str(fields.get("kind", "account"))
    try:
        if kind == "password":
            with_link(request, secret, lambda session: credentials.reset_password(
                session, keys=platform.keys, secret=secret, code=str(fields.get("code", "")),
                password=str(fields.get("password", ""))))
            return see_other("/login?activated=1")
        enrolment = with_link(request, secret, lambda session: credentials.activate(
            session, keys=platform.keys, secret=secret, password=str(fields.get("password", "")),
            current_password=str(fields.get("current_password", ""))))
    except DomainError as exc:
        return render(request, "activate.html", {"secret": secret, "kind": kind, "error": exc}, status=exc.http_status)
    return render(request, "enrol.html", {"secret": secret,
                                          "enrolment": EnrolmentOut.build(enrolment.uri, enrolment.recovery_codes)})


@router.post("/activate/{secret}/confirm", response_class=HTMLResponse, dependencies=[allows(Egress.ACCOUNT)])
def confirm(request: Request, secret: str, fields: Fields):
    platform = request.app.state.platform
    try:
        with platform.db.unit_of_work() as session:
            credentials.confirm_activation(session, keys=platform.keys, secret=secret, code=str(fields.get("code", "")))
    except DomainError as exc:
        return render(request, "enrol.html", {"secret": secret, "enrolment": None, "error": exc},
                      status=exc.http_status)
    return see_other("/login?activated=1")


@router.get("/terms", response_class=HTMLResponse, dependencies=[allows(Egress.ACCOUNT)])
def terms_page(request: Request, who: _who(terms=False), next: str = HOME):
    return render(request, "terms.html", {"version": request.app.state.platform.settings.terms_version,
                                          "next": next})


@router.post("/terms")
def accept_terms(request: Request, who: _who(terms=False), fields: Fields):
    with gv._db(request) as session:
        identity.accept_terms(session, user=session.get(User, who.user_id),
                              version=request.app.state.platform.settings.terms_version)
    return see_other(_safe_next(str(fields.get("next", HOME))))


# -- applications --------------------------------------------------------------------------

@router.get("/applications", response_class=HTMLResponse)
def applications(request: Request, who: gv.Reader):
    with gv._db(request) as session:
        rows = [gv._out(a) for a in gov.visible_applications(session, actor=who.actor)]
        open_calls = [c for c in calls.list_calls(session) if gov.call_is_open(c, utcnow().date())]
    return render(request, "applications.html", {"applications": rows, "procedures": [p.value for p in Procedure],
                                                 "calls": open_calls}, who=who)


@router.post("/applications")
def create_application(request: Request, who: gv.Applicant, fields: Fields):
    with gv._db(request) as session:
        call_id = form_id(fields, "call_id")
        app = gov.create_application(session, actor=who.actor, user=session.get(User, who.user_id),
                                     title=str(fields.get("title", "")), procedure=str(fields.get("procedure", "")),
                                     call=calls.get_call(session, call_id) if call_id else None)
    return see_other(f"/applications/{app.id}")


# The applicant's actions that send the form: offered at the end of the form, where saving comes
# first, never above it where a click lost what was typed (issue 18, item 3)
FORM_ACTIONS = ("submit", "provide_information")


def _application_page(request: Request, who: Principal, app_id: int, error: DomainError | None = None,
                      typed: dict[str, str] | None = None) -> HTMLResponse:
    """The application; after a refused change, with what the person typed and the error beside
    its field (nothing typed is lost)."""
    with gv._db(request) as session:
        app = gv._readable(session, who, app_id)
        mine, editable = who.actor.id == f"user:{app.applicant.email}", app.status in gov.EDITABLE
        actions = gov.actions_for(who.actor, app)
        sending = [a for a in actions if a in FORM_ACTIONS] if mine and editable else []
        context = {"app": ApplicationOut.build(app, utcnow()), "form_fields": FORM_FIELDS, "purposes": PURPOSES,
                   "fields": {**fields_from_form(app.form), **(typed or {})}, "invalid": invalid_fields(error),
                   "engines": ENGINES, "error": error, "mine": mine, "editable": editable,
                   "actions": [a for a in actions if a not in sending], "sending": sending,
                   "permits": [(p.id, p.reference, p.status) for p in permits.of_application(session, app)],
                   "history": permits.history(session, app)}
    return render(request, "application.html", context, who=who, status=error.http_status if error else 200)


@router.get("/applications/{app_id}", response_class=HTMLResponse)
def application(request: Request, app_id: int, who: gv.Reader):
    return _application_page(request, who, app_id)


@router.post("/applications/{app_id}/form", response_class=HTMLResponse)
def update_form(request: Request, app_id: int, who: gv.Applicant, fields: Fields):
    """Save the form; then, if asked (`then`), submit it or send the information asked for. What
    was typed is saved before anything can refuse the sending, and shown again if refused."""
    typed = {k: str(v) for k, v in fields.items() if k not in ("csrf_token", "then")}
    then = str(fields.get("then", ""))
    try:
        with gv._db(request) as session:
            gov.update_form(session, actor=who.actor, app=gov.get_application(session, app_id),
                            changes=form_from_fields(typed))
        if then in FORM_ACTIONS:
            with gv._db(request) as session:
                gov.act(session, actor=who.actor, app=gov.get_application(session, app_id), action=then)
    except DomainError as exc:
        return _application_page(request, who, app_id, exc, typed=typed)
    return see_other(f"/applications/{app_id}")


# Decisions that cannot be taken back: the page asks once more, saying what follows (issue 18,
# item 3), in a form of its own that works without JavaScript. The API takes them at once.
IRREVERSIBLE = frozenset({"grant", "refuse", "withdraw"})


def _unconfirmed(request: Request, fields: FormData, *, act: str, subject: str, back: str) -> HTMLResponse | None:
    """The page asking to confirm `act`, or None once the person has confirmed it."""
    if fields.get("confirmed") == "yes":
        return None
    hidden = [(k, str(v)) for k, v in fields.multi_items() if k not in ("csrf_token", "confirmed")]
    return render(request, "confirm.html", {"act": act, "subject": subject, "hidden": hidden, "back": back,
                                            "action_url": request.url.path,
                                            "justification": str(fields.get("justification") or fields.get("reason")
                                                                 or "").strip()})


@router.post("/applications/{app_id}/act", response_class=HTMLResponse)
def act(request: Request, app_id: int, who: gv.Mover, fields: Fields):
    action, justification = str(fields.get("action", "")), str(fields.get("justification", "")).strip() or None
    try:
        with gv._db(request) as session:
            app = gv._readable(session, who, app_id)
            if action in IRREVERSIBLE:
                gov.check_can_act(who.actor, app, action)  # never ask to confirm what cannot be done
                asking = _unconfirmed(request, fields, act=action, subject=f"{app.reference} — {app.title}",
                                      back=f"/applications/{app_id}")
                if asking is not None:
                    return asking
            if action == "grant":
                permits.grant(session, actor=who.actor, app=app, signer=request.app.state.platform.signer)
            else:
                gov.act(session, actor=who.actor, app=app, action=action, justification=justification)
    except DomainError as exc:
        return _application_page(request, who, app_id, exc)
    return see_other(f"/applications/{app_id}")


@router.get("/queue", response_class=HTMLResponse)
def queue(request: Request, who: gv.Reviewer):
    with gv._db(request) as session:
        rows = [gv._out(a) for a, _ in gov.instructor_queue(session, actor=who.actor)]
    return render(request, "queue.html", {"applications": rows}, who=who)


@router.get("/applications/{app_id}/decision", response_class=HTMLResponse)
def decision(request: Request, app_id: int, who: gv._who(P.APPLICATION_REVIEW, P.OPINION_RECORD)):
    with gv._db(request) as session:
        app = gv._readable(session, who, app_id)
        context = {"app": ApplicationOut.build(app, utcnow()), "criteria": gov.CRITERIA,
                   "fields": fields_from_form(app.form), "form_fields": FORM_FIELDS}
    return render(request, "decision.html", context, who=who)


@router.post("/applications/{app_id}/assess")
def assess(request: Request, app_id: int, who: gv.Reviewer, fields: Fields):
    with gv._db(request) as session:
        app = gov.get_application(session, app_id)
        for criterion in gov.CRITERIA:
            if f"met_{criterion}" in fields:
                gov.assess(session, actor=who.actor, app=app, criterion=criterion,
                           met=fields[f"met_{criterion}"] == "yes", note=str(fields.get(f"note_{criterion}", "")))
    return see_other(f"/applications/{app_id}/decision")


@router.post("/applications/{app_id}/opinion")
def opinion(request: Request, app_id: int, who: gv.Recorder, fields: Fields):
    try:
        on = date.fromisoformat(str(fields.get("date", "")))
    except ValueError:
        raise InvalidInput("write the date as YYYY-MM-DD", details={"field": "date"}) from None
    with gv._db(request) as session:
        gov.record_opinion(session, actor=who.actor, app=gov.get_application(session, app_id),
                           kind=str(fields.get("kind", "")), reference=str(fields.get("reference", "")), on=on,
                           outcome=str(fields.get("outcome", "")))
    return see_other(f"/applications/{app_id}/decision")


# -- permits, calls, register --------------------------------------------------------------

@router.get("/permits/{permit_id}", response_class=HTMLResponse)
def permit(request: Request, permit_id: int, who: gv.PermitReader):
    with gv._db(request) as session:
        p = gv._permit(session, who, permit_id)
        context = {"permit": gv.PermitOut.build(p)}
    return render(request, "permit.html", context, who=who)


@router.get("/register", response_class=HTMLResponse, dependencies=[allows(Egress.PUBLIC)])
def register_page(request: Request):
    with gv._db(request) as session:
        rows = register.entries(session)
    return render(request, "register.html", {"entries": rows})


# -- administration ------------------------------------------------------------------------

@router.get("/admin/users", response_class=HTMLResponse, dependencies=[allows(Egress.ACCOUNT)])
def users_page(request: Request, who: _who(P.USER_MANAGE)):
    return _users_page(request, who)


def _users_page(request: Request, who: Principal, *, sent: invitations.Invitation | None = None,
                error: DomainError | None = None, typed: FormData | None = None,
                done: tuple[str, str] | None = None) -> HTMLResponse:
    """The accounts, and the form for a new one (after a refusal: as typed, the error beside its field)."""
    with gv._db(request) as session:
        users = [UserOut.build(u) for u in identity.list_users(session)]
        organisations = [o.name for o in identity.list_organisations(session)]
    typed_roles = typed.getlist("roles") if typed is not None else []
    return render(request, "users.html", {"users": users, "organisations": organisations, "sent": sent,
                                          "roles": [r.value for r in Role], "error": error,
                                          "typed": {k: str(v) for k, v in (typed or {}).items() if k != "roles"},
                                          "typed_roles": typed_roles, "invalid": invalid_fields(error),
                                          "done": done, "account_actions": list(admin.ACTIONS),
                                          "default_until": date.today() + timedelta(days=365)},
                  who=who, status=error.http_status if error else 200)


@router.post("/admin/users", response_class=HTMLResponse, dependencies=[allows(Egress.ACCOUNT)])
def create_user(request: Request, who: _who(P.USER_MANAGE), fields: Fields):
    """Register an organisation member (creating the organisation if new); its link goes to the
    person (or, without a mail relay, is shown once). A refusal keeps what was typed."""
    try:
        try:
            until = date.fromisoformat(str(fields.get("end_of_rights", "")))
        except ValueError:
            raise InvalidInput("write the end-of-rights date as YYYY-MM-DD", details={"field": "end_of_rights"}) from None
        with gv._db(request) as session:
            name = str(fields.get("organisation", "")).strip()
            organisation = identity.find_organisation(session, name) or identity.create_organisation(
                session, actor=who.actor, name=name, sector=str(fields.get("sector", "")))
            user = identity.create_user(session, actor=who.actor, email=str(fields.get("email", "")),
                                        name=str(fields.get("name", "")), organisation=organisation,
                                        roles=set(fields.getlist("roles")), end_of_rights=until)
            sent = invitations.invite(session, settings=request.app.state.platform.settings, actor=who.actor,
                                      user=user)
    except DomainError as exc:
        return _users_page(request, who, error=exc, typed=fields)
    return _users_page(request, who, sent=sent)


@router.post("/admin/users/{email}/act", response_class=HTMLResponse, dependencies=[allows(Egress.ACCOUNT)])
def account_act(request: Request, email: str, who: _who(P.USER_MANAGE), fields: Fields):
    """Unlock, enable, disable, a new activation link, a reset (issue 18, item 10); what ends the
    person's sessions is asked once more."""
    action = str(fields.get("action", ""))
    try:
        if action in admin.CONFIRMED:
            asking = _unconfirmed(request, fields, act=action, subject=email, back="/admin/users")
            if asking is not None:
                return asking
        with gv._db(request) as session:
            admin.act(session, settings=request.app.state.platform.settings, actor=who.actor,
                      user=identity.get_user(session, email), action=action, reason=str(fields.get("reason", "")))
    except DomainError as exc:
        return _users_page(request, who, error=exc)
    return _users_page(request, who, done=(action, email))


# -- calls for projects ------------------------------------------------------------------------

@router.post("/permits/{permit_id}/extend")
def extend_permit(request: Request, permit_id: int, who: gv.Decider, fields: Fields):
    months = str(fields.get("months", ""))
    if not months.isdigit():
        raise InvalidInput("the extension is a whole number of months", details={"field": "months"})
    with gv._db(request) as session:
        new = permits.extend(session, actor=who.actor, permit=permits.get_permit(session, permit_id),
                             signer=request.app.state.platform.signer, months=int(months),
                             reason=str(fields.get("reason", "")))
    return see_other(f"/permits/{new.id}")


@router.post("/permits/{permit_id}/revoke")
def revoke_permit(request: Request, permit_id: int, who: gv.Decider, fields: Fields):
    with gv._db(request) as session:
        permits.revoke(session, actor=who.actor, permit=permits.get_permit(session, permit_id),
                       reason=str(fields.get("reason", "")))
    return see_other(f"/permits/{permit_id}")


@router.post("/applications/{app_id}/extension")
def extend_deadline(request: Request, app_id: int, who: gv.Decider, fields: Fields):
    with gv._db(request) as session:
        gov.extend_deadline(session, actor=who.actor, app=gov.get_application(session, app_id),
                            reason=str(fields.get("reason", "")))
    return see_other(f"/applications/{app_id}/decision")


@router.get("/calls", response_class=HTMLResponse, dependencies=[allows(Egress.PUBLIC)])
def calls_page(request: Request):
    with gv._db(request) as session:
        rows = [gv.CallOut.build(c) for c in calls.list_calls(session)]
    return render(request, "calls.html", {"calls": rows, "today": date.today()})


@router.post("/calls")
def create_call(request: Request, who: _who(P.CALL_MANAGE), fields: Fields):
    """Criteria are written one per line as `name` or `name: weight`."""
    try:
        opens, closes = (date.fromisoformat(str(fields.get(k, ""))) for k in ("opens_on", "closes_on"))
        criteria = [_criterion(line) for line in str(fields.get("criteria", "")).splitlines() if line.strip()]
    except ValueError:
        raise InvalidInput("dates are YYYY-MM-DD and weights are numbers (`science: 2`)") from None
    with gv._db(request) as session:
        call = calls.create_call(session, actor=who.actor, title=str(fields.get("title", "")),
                                 theme=str(fields.get("theme", "")), description=str(fields.get("description", "")),
                                 opens_on=opens, closes_on=closes, criteria=criteria)
    return see_other(f"/calls/{call.id}")


def _criterion(line: str) -> dict:
    name, _, weight = line.partition(":")
    return {"name": name.strip(), "weight": float(weight) if weight.strip() else 1}


@router.get("/calls/{call_id}", response_class=HTMLResponse)
def call_page(request: Request, call_id: int):
    """Public: the call and its criteria; reviewers also see the ranking, score, and select."""
    who = peek(request)
    with gv._db(request) as session:
        call = calls.get_call(session, call_id)
        reviewer = who is not None and has_permission(who.actor, P.APPLICATION_REVIEW)
        ranking = gv.ranked(session, call) if reviewer else None
        context = {"call": gv.CallOut.build(call), "ranking": ranking}
    return render(request, "call.html", context, who=who)


@router.post("/calls/{call_id}/scores")
def score_call(request: Request, call_id: int, who: gv.Reviewer, fields: Fields):
    with gv._db(request) as session:
        call = calls.get_call(session, call_id)
        candidates = {a.id: a for a in calls.applications_of(session, call)}
        for key, value in fields.multi_items():
            if not key.startswith("score:") or value == "":
                continue
            _, app_id, criterion = key.split(":", 2)
            if not app_id.isdigit() or int(app_id) not in candidates or not str(value).isdigit():
                raise InvalidInput(f"{key} is not a score of this call's applications", details={"field": key})
            calls.score(session, actor=who.actor, app=candidates[int(app_id)], criterion=criterion, value=int(value))
    return see_other(f"/calls/{call_id}")


@router.post("/calls/{call_id}/selection")
def select_call(request: Request, call_id: int, who: _who(P.CALL_MANAGE), fields: Fields):
    chosen = [int(v) for v in fields.getlist("selected") if str(v).isdigit()]
    with gv._db(request) as session:
        calls.select_applications(session, actor=who.actor, call=calls.get_call(session, call_id), chosen=chosen)
    return see_other(f"/calls/{call_id}")


# -- workspaces --------------------------------------------------------------------------------

@router.get("/workspaces", response_class=HTMLResponse, dependencies=[allows(Egress.WORKSPACE)])
def workspaces_page(request: Request, who: _who(P.WORKSPACE_ENTER, P.SNAPSHOT_INGEST)):
    return render(request, "workspaces.html", {"workspaces": wv.list_workspaces(request, who)}, who=who)


def _workspace_page(request: Request, who: Principal, ws_id: int, *, sql: str = "", result=None, saved=None,
                    error: DomainError | None = None) -> HTMLResponse:
    home = wv.get_workspace(request, ws_id, who)
    outputs = wv.list_outputs(request, ws_id, who)
    with gv._db(request) as session:
        history = query.recent_queries(session, actor=who.actor, ws=workspaces_of.get_workspace(session, ws_id))
    context = {"ws": home, "sql": sql, "result": result, "error": error, "saved": saved, "history": history,
               "jobs": wv.list_jobs(request, ws_id, who),
               "outputs": [o for o in outputs if not is_evidence(o.name)],
               "evidence": [o for o in outputs if is_evidence(o.name)],
               "releases": av.list_requests(request, ws_id, who),
               "imports": av.list_imports(request, ws_id, who)}
    return render(request, "workspace.html", context, who=who, status=error.http_status if error else 200)


@router.get("/workspaces/{ws_id}", response_class=HTMLResponse, dependencies=[allows(Egress.WORKSPACE)])
def workspace_page(request: Request, ws_id: int, who: wv.Member):
    return _workspace_page(request, who, ws_id)


@router.post("/workspaces/{ws_id}/query", response_class=HTMLResponse, dependencies=[allows(Egress.SCREEN_VIEW)])
def workspace_query(request: Request, ws_id: int, who: wv.Member, fields: Fields):
    """The SQL console: the result (capped) or what was wrong, under the query."""
    sql, save = str(fields.get("sql", "")), str(fields.get("save", ""))
    try:
        if save:
            saved = wv.save_query(request, ws_id, wv.SaveIn(sql=sql, name=str(fields.get("name", "result")),
                                                             format=save), who)
            return _workspace_page(request, who, ws_id, sql=sql, saved=saved)
        result = wv.run_query(request, ws_id, wv.QueryIn(sql=sql), who)
    except query.QueryFailed as exc:
        return _workspace_page(request, who, ws_id, sql=sql, error=exc)
    return _workspace_page(request, who, ws_id, sql=sql, result=result)



@router.post("/workspaces/{ws_id}/jobs")
def submit_job(request: Request, ws_id: int, who: wv.Member, fields: Fields):
    job = wv.submit_job(request, ws_id, wv.JobIn(name=str(fields.get("name", "job")), kind=str(fields.get("kind", "")),
                                                script=str(fields.get("script", ""))), who)
    return see_other(f"/workspaces/{ws_id}/jobs/{job.id}")


@router.get("/workspaces/{ws_id}/jobs/{job_id}", response_class=HTMLResponse, dependencies=[allows(Egress.SCREEN_VIEW)])
def job_page(request: Request, ws_id: int, job_id: int, who: wv.Member):
    """The job's state and (capped) log, and its outputs, each viewable in the workspace."""
    job = wv.get_job(request, ws_id, job_id, who)
    outputs = [o for o in wv.list_outputs(request, ws_id, who) if o.job == job.reference]
    waiting = None
    if job.status == "queued":  # taken by a worker: say whether one is there to take it
        platform = request.app.state.platform
        with gv._db(request) as session:
            waiting = "job_waiting" if workers.alive(session, since=platform.liveness.stale_before()) else "no_worker"
    return render(request, "job.html", {"ws_id": ws_id, "job": job, "outputs": outputs, "waiting": waiting}, who=who)


@router.get("/workspaces/{ws_id}/outputs/{output_id}", response_class=HTMLResponse,
            dependencies=[allows(Egress.SCREEN_VIEW)])
def output_page(request: Request, ws_id: int, output_id: int, who: wv.Member):
    """An output's first lines (a screen view, counted and audited); it leaves through the airlock."""
    seen = wv.view_output(request, ws_id, output_id, who)
    return render(request, "output.html", {"ws_id": ws_id, "seen": seen}, who=who)


# -- the airlock (SPE-07, SPE-08) -------------------------------------------------------------------

@router.get("/workspaces/{ws_id}/outputs/{output_id}/check", response_class=HTMLResponse, dependencies=[allows(Egress.WORKSPACE)])
def check_page(request: Request, ws_id: int, output_id: int, who: wv.Member):
    """The disclosure checks on one output, before asking for it."""
    report = av.check_output(request, ws_id, output_id, who)
    return render(request, "check.html", {"ws_id": ws_id, "report": report}, who=who)


@router.post("/workspaces/{ws_id}/releases")
def create_release(request: Request, ws_id: int, who: wv.Member, fields: Fields):
    created = av.create_request(request, ws_id, av.RequestIn(title=str(fields.get("title", ""))), who)
    return see_other(f"/releases/{created.id}")


def _release_page(request: Request, who: Principal, request_id: int, *, error: DomainError | None = None):
    detail = av.get_request(request, request_id, who)
    mine = detail.requested_by == who.actor.id
    editable = mine and detail.status in ("draft", "returned") and _still_member(request, request_id, who)
    return render(request, "release.html", {"req": detail, "error": error, "mine": mine, "editable": editable,
                                            "outputs": [o for o in wv.list_outputs(request, detail.workspace_id, who)
                                                        if not is_evidence(o.name)]
                                            if editable else [], "decisions": _decisions(request, request_id, who)},
                  who=who, status=error.http_status if error else 200)


def _decisions(request: Request, request_id: int, who: Principal) -> list[str]:
    """Return and reject, for a checker who has voted on each file (airlock.check_can_decide)."""
    if not has_permission(who.actor, P.OUTPUT_REVIEW):
        return []
    with gv._db(request) as session:
        req = airlock.get_request(session, request_id)
        return [act for act in ("return", "reject") if airlock.can_decide(who.actor, req, act)]


def _still_member(request: Request, request_id: int, who: Principal) -> bool:
    """The requester may have been taken off the permit since (an amendment)."""
    with gv._db(request) as session:
        return who.actor.id.removeprefix("user:") in query.members(airlock.get_request(session, request_id).workspace)


@router.get("/releases/{request_id}", response_class=HTMLResponse, dependencies=[allows(Egress.WORKSPACE)])
def release_page(request: Request, request_id: int, who: av.Reader):
    return _release_page(request, who, request_id)


def _on_release(request: Request, who: Principal, request_id: int, change) -> Response:
    """Run a change on the request, then show it again (with what was wrong, if anything)."""
    try:
        change()
    except DomainError as exc:
        if isinstance(exc, InvalidInput | Conflict | TransitionNotAllowed):
            return _release_page(request, who, request_id, error=exc)
        raise
    return see_other(f"/releases/{request_id}")


@router.post("/releases/{request_id}/files")
def put_release_file(request: Request, request_id: int, who: wv.Member, fields: Fields):
    def put() -> None:  # inside the change: a wrong choice is shown on the page, not a 500
        output_id = form_id(fields, "output_id")
        if output_id is None:
            raise InvalidInput("choose the output to add", details={"field": "output_id"})
        body = av.FileIn(output_id=output_id, description=str(fields.get("description", "")),
                         exception=str(fields.get("exception", "")) or None)
        av.put_file(request, request_id, body, who)
    return _on_release(request, who, request_id, put)


@router.post("/releases/{request_id}/files/{name}/remove")
def remove_release_file(request: Request, request_id: int, name: str, who: wv.Member):
    return _on_release(request, who, request_id, lambda: av.delete_file(request, request_id, name, who))


@router.post("/releases/{request_id}/act")
def act_on_release(request: Request, request_id: int, who: av.Reader, fields: Fields):
    body = av.ActionIn(action=str(fields.get("action", "")), comment=str(fields.get("comment", "")))
    return _on_release(request, who, request_id, lambda: av.act(request, request_id, body, who))


@router.post("/releases/{request_id}/vote")
def vote_on_release(request: Request, request_id: int, who: av.Checker, fields: Fields):
    body = av.VoteIn(file=str(fields.get("file", "")), decision=str(fields.get("decision", "")),
                     comment=str(fields.get("comment", "")))
    return _on_release(request, who, request_id, lambda: av.vote(request, request_id, body, who))


@router.post("/releases/{request_id}/revoke")
def revoke_release(request: Request, request_id: int, who: av.Checker, fields: Fields):
    body = av.RevokeIn(reason=str(fields.get("reason", "")))
    return _on_release(request, who, request_id, lambda: av.revoke(request, request_id, body, who))


@router.get("/airlock", response_class=HTMLResponse, dependencies=[allows(Egress.WORKSPACE)])
def airlock_queue(request: Request, who: av.Checker):
    return render(request, "airlock.html", {"requests": av.review_queue(request, who),
                                            "imports": av.import_queue(request, who)}, who=who)


@router.post("/workspaces/{ws_id}/imports")
def bring_in_page(request: Request, ws_id: int, who: wv.Member, fields: Fields):
    """The import form (multipart): the file and what it is for."""
    upload = fields.get("file")
    if upload is None or isinstance(upload, str):
        raise InvalidInput("choose a file to bring in", details={"field": "file"})
    with upload.file as spooled:  # the form's temporary file, closed once read
        content = spooled.read()
    av.bring_in(request, ws_id, upload.filename or "", str(fields.get("purpose", "")), content, who)
    return see_other(f"/workspaces/{ws_id}#imports")


@router.post("/imports/{import_id}/decide")
def decide_import_page(request: Request, import_id: int, who: av.Reader, fields: Fields):
    imp = av.decide_import(request, import_id, av.ActionIn(action=str(fields.get("action", "")),
                                                           comment=str(fields.get("comment", ""))), who)
    return see_other("/airlock" if has_permission(who.actor, P.OUTPUT_REVIEW) else f"/workspaces/{imp.workspace_id}#imports")

"""The pages everyone passes through: the public catalogue, the home page of what waits for each
role, sign-in with MFA, activation with a QR code, the terms of use, the style sheet and the
language switch. French and English, server-rendered, working without JavaScript; every form
posts the session's CSRF token. Each domain's pages are in a module of their own beside this one
(governance, admin, workspace, airlock, dictionary, review); all call the domains' use-cases,
never the API (issue 18, item 12)."""

from __future__ import annotations

import re
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse

from bastide.catalogue import service as catalogue
from bastide.errors import DomainError, NotFound, not_among
from bastide.gate.auth import SESSION_COOKIE, cookie_options
from bastide.gate.egress import Egress, allows
from bastide.gate.request import unit_of_work as _db
from bastide.gate.request import who
from bastide.gate.signin import end_session, sign_in, with_link
from bastide.identity import credentials
from bastide.identity import service as identity
from bastide.identity.models import User
from bastide.identity.schemas import EnrolmentOut
from bastide.inbox import service as inbox
from bastide.web import i18n
from bastide.web.render import HOME, Fields, keep_language, render, safe_next, see_other

router = APIRouter(include_in_schema=False, dependencies=[allows(Egress.GOVERNANCE)])


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
        raise not_among("code", i18n.LANGUAGES)
    response = see_other(safe_next(re.sub(r"([?&])lang=[a-z]+&?", r"\1", next).rstrip("?&") or "/"))
    keep_language(response, code)
    return response


@router.get("/", response_class=HTMLResponse, dependencies=[allows(Egress.PUBLIC)])
def home(request: Request):
    with _db(request) as session:
        datasets = catalogue.public_datasets(session)
    return render(request, "catalogue.html", {"datasets": datasets})


@router.get(HOME, response_class=HTMLResponse, dependencies=[allows(Egress.GOVERNANCE)])
def home_page(request: Request, who: who()):
    """Where a person lands once signed in: what waits for them, for each role they hold (issue 18)."""
    with _db(request) as session:
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


@router.post("/login", response_class=HTMLResponse, dependencies=[allows(Egress.ACCOUNT)])
async def login(request: Request, fields: Fields):
    try:
        _user, secret = await sign_in(request, email=str(fields.get("email", "")), password=str(fields.get("password", "")),
                               code=str(fields.get("code", "")))
    except DomainError as exc:
        return render(request, "login.html", {"next": fields.get("next", HOME), "error": exc},
                      status=exc.http_status)
    response = see_other(safe_next(str(fields.get("next", HOME))))
    response.set_cookie(SESSION_COOKIE, secret, **cookie_options(request))
    return response


@router.post("/logout")
def logout(request: Request, who: who(terms=False)):
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
def terms_page(request: Request, who: who(terms=False), next: str = HOME):
    return render(request, "terms.html", {"version": request.app.state.platform.settings.terms_version,
                                          "next": next})


@router.post("/terms")
def accept_terms(request: Request, who: who(terms=False), fields: Fields):
    with _db(request) as session:
        identity.accept_terms(session, user=session.get(User, who.user_id),
                              version=request.app.state.platform.settings.terms_version)
    return see_other(safe_next(str(fields.get("next", HOME))))



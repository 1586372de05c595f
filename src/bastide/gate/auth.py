"""Who is calling: a session cookie (browsers) or a bearer token (scripts), checked before the
view runs, deny by default. Every protected route declares `Depends(guard(...))`; the
role × route matrix test enumerates the routes to prove none is left open by mistake."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from fastapi import Request
from starlette.concurrency import run_in_threadpool

from bastide.errors import DomainError
from bastide.identity import credentials
from bastide.identity import service as identity
from bastide.identity.models import User
from bastide.identity.policy import Forbidden, has_permission
from bastide.identity.roles import Permission
from bastide.statemachine import Actor

SESSION_COOKIE = "bastide_session"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


class CsrfFailed(DomainError):
    code = "csrf_failed"
    http_status = 403


class TermsRequired(DomainError):
    code = "terms_not_accepted"
    http_status = 403


@dataclass(frozen=True)
class Principal:
    """The signed-in caller, as plain data (views open their own unit of work)."""

    user_id: int
    actor: Actor
    via: str  # session | token
    csrf: str | None  # for pages: the token forms must send back


def cookie_options(request: Request) -> dict:
    """HttpOnly and SameSite=Lax always; Secure over HTTPS, and always in production, where the
    platform sits behind a TLS proxy (uvicorn --proxy-headers gives the request its https scheme).
    A laptop on http://localhost gets no Secure flag, which browsers would otherwise drop."""
    secure = request.url.scheme == "https" or request.app.state.platform.settings.env == "prod"
    return {"httponly": True, "samesite": "lax", "secure": secure, "path": "/"}


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    return header[7:].strip() if header.lower().startswith("bearer ") else None


async def _check_csrf(request: Request, expected: str) -> None:
    """Cookie-authenticated writes must echo the session's CSRF token (header or form field)."""
    sent = request.headers.get(CSRF_HEADER)
    if sent is None and request.headers.get("content-type", "").startswith(
            ("application/x-www-form-urlencoded", "multipart/form-data")):
        sent = (await request.form()).get(CSRF_FIELD)
    if not sent or not secrets.compare_digest(str(sent), expected):
        raise CsrfFailed("the form's CSRF token is missing or wrong: reload the page and try again")


def guard(*permissions: Permission, terms: bool = True, sessions_only: bool = False):
    """A dependency that authenticates the caller and, if `permissions` are named, requires one
    of them. `terms=False` for what a person may do before accepting the terms of use;
    `sessions_only` for what an API token may never do (create more tokens)."""

    async def dependency(request: Request) -> Principal:
        bearer, cookie = _bearer(request), request.cookies.get(SESSION_COOKIE)
        if not bearer and not cookie:
            raise credentials.NotAuthenticated("sign in first (a session cookie or `Authorization: Bearer` token)")
        if bearer and sessions_only:
            raise Forbidden("an API token cannot do this: sign in with a browser session")
        # database work off the event loop, as FastAPI does for plain handlers
        principal = await run_in_threadpool(_authenticate, request.app.state.platform, bearer, cookie, terms)
        if principal.via == "session" and request.method not in SAFE_METHODS:
            await _check_csrf(request, principal.csrf)
        if permissions and not any(has_permission(principal.actor, p) for p in permissions):
            raise Forbidden(f"{principal.actor.id} may not do this (needs {' or '.join(permissions)})",
                            details={"needs": [str(p) for p in permissions]})
        request.state.principal = principal
        return principal

    return dependency


def _authenticate(platform, bearer: str | None, cookie: str | None, terms: bool) -> Principal:
    with platform.db.unit_of_work() as session:
        if bearer:
            token, actor = credentials.resolve_token(session, bearer)
            user, principal = token.user, Principal(token.user_id, actor, "token", None)
        else:
            web = credentials.resolve_session(session, cookie)
            user = web.user
            principal = Principal(user.id, identity.actor_of(user), "session", credentials.csrf_token(cookie))
        _check_terms(user, platform.settings.terms_version, terms)
    return principal


def _check_terms(user: User, version: str, required: bool) -> None:
    if required and user.terms_version != version:
        raise TermsRequired(f"accept the terms of use (version {version}) first", details={"version": version})


def peek(request: Request) -> Principal | None:
    """The signed-in person for a public page's header, or None; never raises, never required."""
    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie:
        return None
    try:
        with request.app.state.platform.db.unit_of_work() as session:
            web = credentials.resolve_session(session, cookie)
            return Principal(web.user_id, identity.actor_of(web.user), "session", credentials.csrf_token(cookie))
    except DomainError:
        return None

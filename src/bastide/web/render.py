"""What every page shares: one Jinja environment per language, the signed-in header, the language
kept, the form read before the handler, errors shown as pages, and the page asking once more
before what cannot be undone. The pages themselves are split by domain beside this module."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated
from urllib.parse import quote, urlsplit

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader
from markupsafe import Markup
from starlette.datastructures import FormData

from bastide.errors import DomainError
from bastide.gate.auth import Principal, TermsRequired, peek
from bastide.identity import credentials
from bastide.identity.policy import has_permission
from bastide.identity.roles import Permission as P
from bastide.web import i18n


def _templates(lang: str) -> Jinja2Templates:
    """The pages in one language: jinja2's i18n extension with that language's catalogue, so a
    template's `_('code')` is its text (Babel extracts those calls; web/i18n.py)."""
    env = Environment(loader=FileSystemLoader(Path(__file__).parent / "templates"), autoescape=True,
                      extensions=["jinja2.ext.i18n"])
    words = i18n.gettext(lang)
    env.install_gettext_callables(words, i18n.ngettext(lang), newstyle=True)
    env.globals["state"] = _state_in(words)
    env.globals["error_kind"] = lambda exc: type(exc).code  # its class's code, titled in words (`error_<code>`)
    env.globals["said"] = lambda exc: i18n.said(lang, exc.words, exc.details, exc.message)  # its own words, by code
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
HOME = "/home"  # where a signed-in person lands: what waits for them (issue 18)


async def _form(request: Request) -> FormData:
    return await request.form()


# Handlers are plain functions (run in the thread pool, since they use the database); the form
# is read by this async dependency before them.
Fields = Annotated[FormData, Depends(_form)]


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
        keep_language(response, lang)
    if isinstance(context.get("error"), DomainError):  # the same code the API's envelope would carry
        response.headers["X-Error-Code"] = context["error"].code
    return response


def keep_language(response: Response, lang: str) -> None:
    response.set_cookie("lang", lang, max_age=365 * 86400, samesite="lax", secure=True, httponly=True)


def _here(request: Request) -> str:
    """The page to come back to after switching language: this one if it can be asked for again
    (a GET), else the page whose form was posted (switching after a POST was a 405 before)."""
    if request.method == "GET":
        return request.url.path + (f"?{request.url.query}" if request.url.query else "")
    referer = urlsplit(request.headers.get("referer", ""))
    same_site = referer.netloc in ("", request.url.netloc)
    return safe_next(referer.path + (f"?{referer.query}" if referer.query else "")) if same_site else HOME


def see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def error_page(request: Request, exc: DomainError) -> Response:
    """Pages turn an unauthenticated visit into the sign-in page, a pending terms version into
    the terms page, and any other domain error into a page saying what was wrong."""
    if isinstance(exc, credentials.NotAuthenticated) and request.method == "GET":
        return see_other(f"/login?next={quote(request.url.path)}")
    if isinstance(exc, TermsRequired) and request.method == "GET":
        return see_other(f"/terms?next={quote(request.url.path)}")
    return render(request, "error.html", {"error": exc}, status=exc.http_status)


def safe_next(target: str) -> str:
    return target if target.startswith("/") and not target.startswith("//") else HOME


def unconfirmed(request: Request, fields: FormData, *, act: str, subject: str, back: str) -> HTMLResponse | None:
    """The page asking to confirm `act`, or None once the person has confirmed it."""
    if fields.get("confirmed") == "yes":
        return None
    hidden = [(k, str(v)) for k, v in fields.multi_items() if k not in ("csrf_token", "confirmed")]
    return render(request, "confirm.html", {"act": act, "subject": subject, "hidden": hidden, "back": back,
                                            "action_url": request.url.path,
                                            "justification": str(fields.get("justification") or fields.get("reason")
                                                                 or "").strip()})



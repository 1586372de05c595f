"""The platform's web server: the API (`api/`, JSON for programs) and the pages (`web/`, HTML for
people) mounted side by side on one application, which neither face imports (issue 18, item 12);
/health; the error handlers choosing the API's envelope or a page."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from bastide import __version__, ids
from bastide.api.envelope import ERRORS, envelope, internal_error, said
from bastide.api.routes import ROUTERS as API
from bastide.errors import DomainError, NotFound
from bastide.gate import egress, hardening
from bastide.platform import Platform
from bastide.web.render import error_page
from bastide.web.routes import ROUTERS as PAGES
from bastide.workspaces import engines

LOG = logging.getLogger(__name__)


async def ids_in_range(request: Request) -> None:
    """A number in the path past any id the databases hold names nothing: 404 before a service
    reads it (a 500 before, in some routes before their permission check: bastide.ids)."""
    for value in request.path_params.values():
        if isinstance(value, str) and value.lstrip("-").isdigit() and abs(int(value)) > ids.MAX_ID:
            raise NotFound("no such item")


@asynccontextmanager
async def lifespan(app: FastAPI):
    """This process's own check: the engines it started for queries stop when idle or no longer
    allowed (their keys leave memory with them). Builds, jobs and the platform's scheduled checks
    are the workers' (bastide.worker): the API only records them."""
    platform = app.state.platform

    async def every_interval():
        while True:
            await asyncio.sleep(platform.settings.permit_check_seconds)
            try:
                await asyncio.to_thread(engines.stop_unused, platform)
            except Exception:  # noqa: BLE001 - the next round retries; the failure is logged
                LOG.exception("the check of this server's engines failed")

    task = asyncio.create_task(every_interval())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def create_app(platform: Platform) -> FastAPI:
    app = FastAPI(title="Bastide", version=__version__, docs_url="/docs", openapi_url="/openapi.json",
                  lifespan=lifespan, dependencies=[Depends(ids_in_range)])
    app.state.platform = platform
    app.add_middleware(hardening.Hardening, settings=platform.settings)  # before anything reads the body

    app.add_middleware(egress.Guard, refusal=internal_error)  # deny by default (gate/egress.py)

    @app.exception_handler(DomainError)
    async def domain_error(request: Request, exc: DomainError):
        response = error_page(request, exc) if is_page(request) else \
            envelope(request, exc.http_status, exc.code, exc.message, exc.details)
        if "retry_after" in exc.details:  # a back-off: when to try again (RFC 9110)
            response.headers["Retry-After"] = str(exc.details["retry_after"])
        return response

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return envelope(request, exc.status_code, code, str(exc.detail))

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError):
        errors = exc.errors()
        if any(isinstance(e.get("input"), bytes) for e in errors):  # a body FastAPI could not read as JSON
            return envelope(request, 415, "unsupported_media_type",
                            "send the body as JSON, with the header Content-Type: application/json")
        return envelope(request, 422, "invalid_input", "the request is not valid",
                        {"errors": [said(e) for e in errors]})

    @app.exception_handler(Exception)
    async def internal(request: Request, exc: Exception):
        return internal_error(request)

    @app.get("/health", tags=["platform"], dependencies=[egress.allows(egress.Egress.PUBLIC)])
    def health() -> dict:
        platform.db.is_migrated()
        platform.store.check()
        return {"status": "ok", "version": __version__, "database": platform.db.engine.dialect.name,
                "store": platform.store.url.split("://")[0] if "://" in platform.store.url else "local"}

    for router in API:
        app.include_router(router, responses=ERRORS)
    for router in PAGES:
        app.include_router(router)
    return app


def is_page(request: Request) -> bool:
    """Pages answer people with HTML; everything under /api answers programs with the envelope."""
    return not request.url.path.startswith(("/api/", "/health", "/openapi.json", "/docs"))

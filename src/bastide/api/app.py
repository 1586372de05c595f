"""The HTTP API and pages: /health, the public catalogue, one JSON error envelope."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from bastide import __version__, ids
from bastide.api import (airlock_views, catalogue_views, egress, governance_views, hardening, identity_views,
                         workspace_views)
from bastide.workspaces import engines
from bastide.web import dictionary, pages, review
from bastide.errors import DomainError, NotFound
from bastide.platform import Platform

LOG = logging.getLogger(__name__)


def envelope(request: Request, status: int, code: str, message: str, details: dict | None = None) -> JSONResponse:
    request_id = getattr(request.state, "request_id", None) or uuid.uuid4().hex
    return JSONResponse(status_code=status, content={
        "error": {"code": code, "message": message, "details": details or {}}, "request_id": request_id,
    }, headers={"X-Request-ID": request_id, "X-Error-Code": code})


def internal_error(request: Request) -> JSONResponse:
    return envelope(request, 500, "internal_error", "an unexpected error occurred; it was logged")


class ErrorBody(BaseModel):
    code: str
    message: str
    details: dict


class ErrorOut(BaseModel):
    """The one error envelope (every answer that is not a success)."""
    error: ErrorBody
    request_id: str


# what any API route may answer besides its success, declared in the OpenAPI document
ERRORS = {status: {"model": ErrorOut, "description": what} for status, what in (
    (400, "the request cannot be carried out as it is"), (401, "not signed in, or the token is not valid"),
    (403, "the account may not do this"), (404, "no such item"), (409, "the item's state does not allow it"),
    (415, "the body is not JSON"), (422, "the request is not valid"), (429, "too many tries: wait (Retry-After)"))}


def said(error: dict) -> dict:
    """A validation error as the answer can carry it: where and what was wrong, never the value sent
    (a password, or bytes the envelope cannot encode: a 500 before)."""
    return {"loc": [p if isinstance(p, int) else str(p) for p in error.get("loc", ())],
            "type": str(error.get("type", "")), "msg": str(error.get("msg", ""))}


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

    app.add_middleware(egress.Guard, refusal=internal_error)  # deny by default (api/egress.py)

    @app.exception_handler(DomainError)
    async def domain_error(request: Request, exc: DomainError):
        response = pages.error_page(request, exc) if is_page(request) else \
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

    for api in (catalogue_views, identity_views, governance_views, workspace_views, airlock_views):
        app.include_router(api.router, responses=ERRORS)
    app.include_router(pages.router)
    app.include_router(dictionary.router)
    app.include_router(review.router)
    return app


def is_page(request: Request) -> bool:
    """Pages answer people with HTML; everything under /api answers programs with the envelope."""
    return not request.url.path.startswith(("/api/", "/health", "/openapi.json", "/docs"))

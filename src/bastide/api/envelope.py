"""The API's one JSON error envelope: every answer under /api that is not a success."""

from __future__ import annotations

import uuid

from fastapi import Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel


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

"""What every HTTP answer and request goes through before any route (issue 13, sections 4 and 5).

- **Request bodies are capped before anything reads them**: a declared length over the cap is
  refused at once, and a body streamed without one is cut off when it passes it; the route
  (authentication included) never runs. An unauthenticated 300 MB JSON body was parsed before
  its 401. Imports, which carry files, have their own cap.
- **Security headers on every answer**: a content security policy (only this origin: the pages'
  style sheet is a file, no inline style or script is allowed; no frames, no plugins, no form posted
  elsewhere), no MIME sniffing, no referrer, and HSTS in production (behind TLS)."""

from __future__ import annotations

import json
import re

from bastide.config import bytes_of

IMPORTS = re.compile(r"^/(api/)?workspaces/[^/]+/imports(/[^/]+)?$")


def headers(production: bool) -> list[tuple[bytes, bytes]]:
    policy = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; "
              "base-uri 'none'; form-action 'self'; "
              "frame-ancestors 'none'")
    chosen = {"content-security-policy": policy, "x-content-type-options": "nosniff",
              "referrer-policy": "no-referrer", "x-frame-options": "DENY",
              "cross-origin-opener-policy": "same-origin"}
    if production:
        chosen["strict-transport-security"] = "max-age=31536000; includeSubDomains"
    return [(k.encode(), v.encode()) for k, v in chosen.items()]


class Hardening:
    """Pure ASGI middleware: it sees the request before FastAPI reads a byte of its body."""

    def __init__(self, app, *, settings):
        self.app = app
        self.limit, self.import_limit = bytes_of(settings.max_request_size), bytes_of(settings.max_import_size)
        self.headers = headers(settings.env == "prod")

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def with_headers(message):
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *self.headers]
            await send(message)

        limit = self.import_limit if IMPORTS.match(scope["path"]) else self.limit
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None:  # the server delivers no more than it declares
            if not declared.isdigit() or int(declared) > limit:
                return await _too_large(with_headers, limit)
            return await self.app(scope, receive, with_headers)
        body = await _read_at_most(receive, limit)  # streamed without a length: held up to the cap
        if body is None:
            return await _too_large(with_headers, limit)
        return await self.app(scope, _replay(body, receive), with_headers)


async def _read_at_most(receive, limit: int) -> bytes | None:
    """The whole body if it fits in `limit` bytes, else None."""
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b"".join(chunks)
        chunks.append(message.get("body", b""))
        size += len(chunks[-1])
        if size > limit:
            return None
        if not message.get("more_body", False):
            return b"".join(chunks)


def _replay(body: bytes, receive):
    sent = False

    async def replayed():
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replayed


async def _too_large(send, limit: int) -> None:
    body = json.dumps({"error": {"code": "request_too_large", "message": f"a request carries at most {limit:,} "
                                 "bytes (BASTIDE_MAX_REQUEST_SIZE; files come in through the import lane)",
                                 "details": {"limit": limit}}, "request_id": None}).encode()
    await send({"type": "http.response.start", "status": 413,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                            (b"x-error-code", b"request_too_large"), (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})

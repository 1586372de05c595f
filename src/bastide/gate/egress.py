"""Which rule lets each answer's bytes leave the platform to a person (issue 13; docs/security.md).

Every route states its rule with `allows(Egress.…)` (a router states a default, a route may
state its own). `Guard`, the middleware, refuses, as an internal error, any successful answer
whose route stated none — deny by default — and puts the rule in the `X-Egress-Rule` header.
tests/security/test_egress.py checks that every route states one, and that only the routes
listed there state a rule under which microdata leave (screen view, review, release)."""

from __future__ import annotations

import logging
import uuid
from enum import StrEnum

from fastapi import Depends, Request
from starlette.datastructures import MutableHeaders

LOG = logging.getLogger(__name__)

HEADER = "X-Egress-Rule"


class Egress(StrEnum):
    PUBLIC = "public"  # the catalogue's metadata, the public register, calls, the platform's health and API docs
    ACCOUNT = "own-account"  # the caller's own account, sessions and tokens; accounts to their administrators
    GOVERNANCE = "governance-record"  # applications, permits, opinions, audit events, per role: no microdata
    WORKSPACE = "workspace-metadata"  # a workspace's tables, jobs' states, outputs' names, sizes, hashes and checks
    SCREEN_VIEW = "screen-view"  # microdata shown to the permit's persons in their workspace: capped, counted, audited
    REVIEW = "checker-review"  # an output of a submitted release request, to an independent checker; audited
    RELEASED = "released-output"  # a released file or its signed record, to the permit's persons; audited
    IMPORT_REVIEW = "import-review"  # a file asked to be brought in, to the checker deciding on it; audited
    NO_CONTENT = "no-content"  # redirects and answers that carry nothing but a status

    @property
    def microdata(self) -> bool:
        """Whether answers under this rule may carry record-level data."""
        return self in (Egress.SCREEN_VIEW, Egress.REVIEW, Egress.RELEASED, Egress.IMPORT_REVIEW)


def allows(rule: Egress):
    """A route dependency stating the rule under which the route's answer leaves."""

    def stated(request: Request) -> None:
        request.state.egress = rule

    stated.egress_rule = rule  # read by the test that lists every route's rule
    return Depends(stated)


# FastAPI's own pages: the OpenAPI document and the interactive docs, public by intent
FRAMEWORK = {"/openapi.json": Egress.PUBLIC, "/docs": Egress.PUBLIC, "/docs/oauth2-redirect": Egress.PUBLIC,
             "/redoc": Egress.PUBLIC}


def rule_of(request: Request) -> Egress | None:
    return getattr(request.state, "egress", None) or FRAMEWORK.get(request.url.path)


class Guard:
    """Gives each request its id and, deny by default, refuses a success whose route stated no rule
    (an internal error instead), else names the rule in the answer's headers. Pure ASGI: as a
    BaseHTTPMiddleware it cost each request a task group and memory streams (issue 16, load)."""

    def __init__(self, app, *, refusal):
        self.app, self.refusal = app, refusal  # refusal(request) -> the internal error's Response

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        state = scope.setdefault("state", {})  # what request.state reads and writes
        state["request_id"] = uuid.uuid4().hex
        refused = False

        async def stamped(message):
            nonlocal refused
            if message["type"] == "http.response.start":
                request = Request(scope)
                rule = rule_of(request)
                if 200 <= message["status"] < 300 and rule is None:
                    LOG.error("%s %s answered without stating an egress rule: refused", scope["method"], scope["path"])
                    refused = True
                    return await self.refusal(request)(scope, receive, send)
                headers = MutableHeaders(scope=message)
                if rule is not None:
                    headers[HEADER] = rule
                headers["X-Request-ID"] = state["request_id"]
            elif refused:
                return  # the refused answer's body never leaves
            await send(message)

        await self.app(scope, receive, stamped)

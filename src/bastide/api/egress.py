"""Which rule lets each answer's bytes leave the platform to a person (issue 13; docs/security.md).

Every route states its rule with `allows(Egress.…)` (a router states a default, a route may
state its own). The middleware in app.py refuses, as an internal error, any successful answer
whose route stated none — deny by default — and puts the rule in the `X-Egress-Rule` header.
tests/security/test_egress.py checks that every route states one, and that only the routes
listed there state a rule under which microdata leave (screen view, review, release)."""

from __future__ import annotations

from enum import StrEnum

from fastapi import Depends, Request

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

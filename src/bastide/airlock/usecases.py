"""What a person asks of the airlock through either face, the API or the pages (issue 18, item 12):
each function takes the session first, checks who may, and returns the domain's records; the
faces only read the request and render the answer."""

from __future__ import annotations

from sqlalchemy.orm import Session

from bastide.airlock import imports
from bastide.airlock import service as airlock
from bastide.airlock.models import ImportRequest, Release, ReleaseRequest
from bastide.airlock.rules import Parameters
from bastide.errors import NotFound, not_among
from bastide.platform import Platform
from bastide.statemachine import Actor
from bastide.workspaces.viewing import workspace_output

UNDER_REVIEW = ("submitted", "partially_reviewed", "reviewed")
ACTIONS = ("submit", "withdraw", "approve", "return", "reject")


def readable_request(session: Session, actor: Actor, request_id: int) -> ReleaseRequest:
    request = airlock.get_request(session, request_id)
    airlock.may_read(actor, request)
    return request


def act(session: Session, *, platform: Platform, actor: Actor, request: ReleaseRequest, action: str,
        comment: str = "") -> None:
    """The researcher submits or withdraws; a checker approves (then it is released), returns or rejects."""
    if action == "submit":
        airlock.submit(session, platform=platform, actor=actor, request=request)
    elif action == "withdraw":
        airlock.withdraw(session, actor=actor, request=request)
    elif action in ("approve", "return", "reject"):
        airlock.decide(session, platform=platform, actor=actor, request=request, action=action, comment=comment)
    else:
        raise not_among("action", ACTIONS)


def review_queue(session: Session, actor: Actor) -> list[ReleaseRequest]:
    """Requests awaiting review that this checker may review (not their own project's)."""
    return [r for r in airlock.list_requests(session, status=UNDER_REVIEW) if airlock.independent(actor, r)]


def import_queue(session: Session, actor: Actor) -> list[ImportRequest]:
    return [i for i in imports.list_imports(session, status=("submitted",)) if airlock.independent(actor, i)]


def released(session: Session, request: ReleaseRequest) -> Release:
    release = airlock.release_of(session, request)
    if release is None:
        raise NotFound(f"{request.reference} was not released")
    return release


def revoke(session: Session, *, actor: Actor, request: ReleaseRequest, reason: str) -> None:
    airlock.revoke(session, actor=actor, release=released(session, request), reason=reason)


def check_output(session: Session, platform: Platform, *, ws_id: int, output_id: int) -> dict:
    """The disclosure checks on a workspace's output before it is asked for (nothing is recorded);
    the caller was admitted to the workspace (workspaces.query.admit)."""
    output = workspace_output(session, ws_id, output_id)
    return airlock.check_output(session, platform, output, Parameters(threshold=platform.settings.airlock_threshold))

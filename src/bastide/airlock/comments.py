"""Comments between a release request's researchers and its checkers (issue 18, item 7; SACRO's
review conversation): about the request or one of its files, kept with the round they were said
in, audited, never edited. Who may say something: the project's persons, and the independent
checkers of a request they may read, while it is under review or returned. A checker's word is
notified to the requester by mail, without its text: a comment may quote an output, and mail
leaves the platform (only released files leave — docs/security.md); the project's answer is
notified, the same way, to the checkers already on the request (who voted or wrote)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from bastide.airlock import service as airlock
from bastide.airlock.models import ReleaseComment, ReleaseRequest
from bastide.audit.actions import AuditAction
from bastide.audit.service import record
from bastide.db import utcnow
from bastide.errors import Conflict, DomainError, InvalidInput, NotFound
from bastide.governance.form import check_text
from bastide.notices import service as notices
from bastide.statemachine import Actor
from bastide.workspaces.query import members

OPEN = ("submitted", "partially_reviewed", "reviewed", "returned")  # while there is something to discuss
MAX_LENGTH = 4000


def check_can_comment(actor: Actor, request: ReleaseRequest) -> None:
    airlock.may_read(actor, request)
    if request.status not in OPEN:
        raise Conflict(f"{request.reference} is {request.status}: comments are made while it is under review or "
                       "returned", code="comments_closed")


def can_comment(actor: Actor, request: ReleaseRequest) -> bool:
    try:
        check_can_comment(actor, request)
    except DomainError:
        return False
    return True


def comment(session: Session, *, actor: Actor, request: ReleaseRequest, body: str,
            file: str | None = None) -> ReleaseComment:
    check_can_comment(actor, request)
    text = body.strip()
    if not text or len(text) > MAX_LENGTH:
        raise InvalidInput(f"a comment says something, in at most {MAX_LENGTH} characters",
                           details={"field": "body", "max": MAX_LENGTH}, code="comment_length")
    check_text("body", text)
    if file is not None and file not in {f.name for f in request.files}:
        raise NotFound(f"{request.reference} has no file {file}", details={"field": "file"})
    said = ReleaseComment(request_id=request.id, author=actor.id, file=file, round=_round(request), body=text,
                          created_at=utcnow())
    request.comments.append(said)
    record(session, actor=actor, action=AuditAction.RELEASE_COMMENT, target=airlock.target(request),
           details={"file": file, "round": said.round, "characters": len(text)})
    for person in _to_tell(actor, request):
        notices.tell(session, to=person.removeprefix("user:"), kind="release_comment", path=f"/releases/{request.id}",
                     reference=request.reference, title=request.title)
    return said


def _to_tell(actor: Actor, request: ReleaseRequest) -> list[str]:
    """Who learns of a new word by mail: the requester, of a checker's; the checkers already on the
    request (who voted or wrote), of the project's."""
    if _is_checker(actor, request):
        return [request.requested_by]
    checkers = {v.reviewer for f in request.files for v in f.votes} | \
        {c.author for c in request.comments if _is_checker_id(c.author, request)}
    return sorted(checkers - {actor.id})


def _round(request: ReleaseRequest) -> int:
    return max((f.round for f in request.files), default=1)


def _is_checker(actor: Actor, request: ReleaseRequest) -> bool:
    return _is_checker_id(actor.id, request)


def _is_checker_id(person: str, request: ReleaseRequest) -> bool:
    return person.removeprefix("user:") not in members(request.workspace)


def checkers_spoke_last(request: ReleaseRequest) -> bool:
    """The request's latest word is a checker's: the project has something to read (home page)."""
    return bool(request.comments) and _is_checker_id(request.comments[-1].author, request)


def answered(request: ReleaseRequest, checker: Actor) -> bool:
    """The project answered since `checker` last spoke or voted on the request (home page)."""
    if not request.comments or _is_checker_id(request.comments[-1].author, request):
        return False
    on_it = any(v.reviewer == checker.id for f in request.files for v in f.votes) or \
        any(c.author == checker.id for c in request.comments)
    return on_it

"""The airlock's pages (SPE-07, SPE-08, SPE-09): an output's disclosure checks before it is asked
for, release requests (files, submission, votes, decisions, revocation), the checkers' queue,
and the import lane."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from bastide.airlock import comments, imports, usecases
from bastide.airlock import service as airlock
from bastide.airlock.schemas import ImportOut, RequestOut
from bastide.errors import Conflict, DomainError, InvalidInput, TransitionNotAllowed
from bastide.gate.auth import Principal
from bastide.gate.egress import Egress, allows
from bastide.gate.guards import Checker, Member, ReleaseReader as Reader
from bastide.gate.request import platform_of as _platform
from bastide.gate.request import unit_of_work as _db
from bastide.identity.policy import has_permission
from bastide.identity.roles import Permission as P
from bastide.web.forms import form_id
from bastide.web.render import Fields, render, see_other
from bastide.web.workspace import outputs_of
from bastide.workspaces import query
from bastide.workspaces import service as workspaces

router = APIRouter(include_in_schema=False, dependencies=[allows(Egress.WORKSPACE)])


@router.get("/workspaces/{ws_id}/outputs/{output_id}/check", response_class=HTMLResponse)
def check_page(request: Request, ws_id: int, output_id: int, who: Member):
    """The disclosure checks on one output, before asking for it (nothing is recorded)."""
    query.admit(_platform(request), actor=who.actor, ws_id=ws_id)
    with _db(request) as session:
        report = usecases.check_output(session, _platform(request), ws_id=ws_id, output_id=output_id)
    return render(request, "check.html", {"ws_id": ws_id, "report": report}, who=who)


@router.post("/workspaces/{ws_id}/releases")
def create_release(request: Request, ws_id: int, who: Member, fields: Fields):
    with _db(request) as session:
        created = airlock.create_request(session, actor=who.actor, ws=workspaces.get_workspace(session, ws_id),
                                         title=str(fields.get("title", "")), settings=_platform(request).settings)
    return see_other(f"/releases/{created.id}")


def _release_page(request: Request, who: Principal, request_id: int, *, error: DomainError | None = None):
    with _db(request) as session:
        req = usecases.readable_request(session, who.actor, request_id)
        mine = req.requested_by == who.actor.id
        # the requester may have been taken off the permit since (an amendment)
        editable = mine and req.status in ("draft", "returned") and \
            who.actor.id.removeprefix("user:") in query.members(req.workspace)
        decisions = [act for act in ("return", "reject") if airlock.can_decide(who.actor, req, act)] \
            if has_permission(who.actor, P.OUTPUT_REVIEW) else []
        context = {"req": RequestOut.build(session, req, who.actor), "error": error, "mine": mine,
                   "editable": editable, "outputs": outputs_of(session, req.workspace)[0] if editable else [],
                   "decisions": decisions, "commenting": comments.can_comment(who.actor, req)}
    return render(request, "release.html", context, who=who, status=error.http_status if error else 200)


@router.get("/releases/{request_id}", response_class=HTMLResponse)
def release_page(request: Request, request_id: int, who: Reader):
    return _release_page(request, who, request_id)


def _on_release(request: Request, who: Principal, request_id: int, change: Callable[[Session, object], None]) -> Response:
    """Run a change on the request in one unit of work, then show it again (with what was wrong, if anything)."""
    try:
        with _db(request) as session:
            change(session, airlock.get_request(session, request_id))
    except (InvalidInput, Conflict, TransitionNotAllowed) as exc:
        return _release_page(request, who, request_id, error=exc)
    return see_other(f"/releases/{request_id}")


@router.post("/releases/{request_id}/files")
def put_release_file(request: Request, request_id: int, who: Member, fields: Fields):
    def put(session, release_request) -> None:  # inside the change: a wrong choice is shown on the page, not a 500
        output_id = form_id(fields, "output_id")
        if output_id is None:
            raise InvalidInput("choose the output to add", details={"field": "output_id"}, code="choose_output")
        airlock.add_file(session, platform=_platform(request), actor=who.actor, request=release_request,
                         output_id=output_id, description=str(fields.get("description", "")),
                         exception=str(fields.get("exception", "")) or None)
    return _on_release(request, who, request_id, put)


@router.post("/releases/{request_id}/files/{name}/remove")
def remove_release_file(request: Request, request_id: int, name: str, who: Member):
    return _on_release(request, who, request_id, lambda session, req: airlock.remove_file(
        session, actor=who.actor, request=req, name=name))


@router.post("/releases/{request_id}/act")
def act_on_release(request: Request, request_id: int, who: Reader, fields: Fields):
    return _on_release(request, who, request_id, lambda session, req: usecases.act(
        session, platform=_platform(request), actor=who.actor, request=req, action=str(fields.get("action", "")),
        comment=str(fields.get("comment", ""))))


@router.post("/releases/{request_id}/vote")
def vote_on_release(request: Request, request_id: int, who: Checker, fields: Fields):
    return _on_release(request, who, request_id, lambda session, req: airlock.vote(
        session, actor=who.actor, request=req, name=str(fields.get("file", "")),
        decision=str(fields.get("decision", "")), comment=str(fields.get("comment", ""))))


@router.post("/releases/{request_id}/comment")
def comment_on_release(request: Request, request_id: int, who: Reader, fields: Fields):
    """A word between the project's persons and the checkers; back to where it was written."""
    about = str(fields.get("file") or "") or None
    response = _on_release(request, who, request_id, lambda session, req: comments.comment(
        session, actor=who.actor, request=req, body=str(fields.get("body", "")), file=about))
    if response.status_code == 303 and fields.get("back") == "review" and about:
        return see_other(f"/releases/{request_id}/files/{quote(about)}/review#comments")
    return response


@router.post("/releases/{request_id}/revoke")
def revoke_release(request: Request, request_id: int, who: Checker, fields: Fields):
    return _on_release(request, who, request_id, lambda session, req: usecases.revoke(
        session, actor=who.actor, request=req, reason=str(fields.get("reason", ""))))


@router.get("/airlock", response_class=HTMLResponse)
def airlock_queue(request: Request, who: Checker):
    with _db(request) as session:
        context = {"requests": [RequestOut.build(session, r, who.actor) for r in usecases.review_queue(session, who.actor)],
                   "imports": [ImportOut.build(i) for i in usecases.import_queue(session, who.actor)]}
    return render(request, "airlock.html", context, who=who)


@router.post("/workspaces/{ws_id}/imports")
def bring_in_page(request: Request, ws_id: int, who: Member, fields: Fields):
    """The import form (multipart): the file and what it is for."""
    upload = fields.get("file")
    if upload is None or isinstance(upload, str):
        raise InvalidInput("choose a file to bring in", details={"field": "file"}, code="choose_file")
    with upload.file as spooled:  # the form's temporary file, closed once read
        content = spooled.read()
    with _db(request) as session:
        imports.request_import(session, platform=_platform(request), actor=who.actor,
                               ws=workspaces.get_workspace(session, ws_id), name=upload.filename or "",
                               content=content, purpose=str(fields.get("purpose", "")))
    return see_other(f"/workspaces/{ws_id}#imports")


@router.post("/imports/{import_id}/decide")
def decide_import_page(request: Request, import_id: int, who: Reader, fields: Fields):
    with _db(request) as session:
        imp = imports.get_import(session, import_id)
        imports.decide(session, actor=who.actor, imp=imp, action=str(fields.get("action", "")),
                       comment=str(fields.get("comment", "")))
        ws_id = imp.workspace_id
    return see_other("/airlock" if has_permission(who.actor, P.OUTPUT_REVIEW) else f"/workspaces/{ws_id}#imports")

"""/api/releases and the outputs' checks: the airlock's API (SPE-07, SPE-08, AUD-09)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response

from bastide.airlock import comments, imports, usecases
from bastide.airlock import service as airlock
from bastide.airlock.schemas import ActionIn, CommentIn, FileIn, ImportOut, RequestIn, RequestOut, RevokeIn, VoteIn
from bastide.airlock.service import RECORD
from bastide.errors import InvalidInput
from bastide.gate.egress import Egress, allows
from bastide.gate.guards import Checker, Member, ReleaseReader as Reader
from bastide.gate.request import platform_of as _platform
from bastide.gate.request import unit_of_work as _db
from bastide.workspaces import query
from bastide.workspaces import service as workspaces

router = APIRouter(tags=["airlock"], dependencies=[allows(Egress.WORKSPACE)])


@router.post("/api/workspaces/{ws_id}/outputs/{output_id}/check")
def check_output(request: Request, ws_id: int, output_id: int, who: Member) -> dict:
    """Run the disclosure checks on an output before asking for it (nothing is recorded)."""
    query.admit(_platform(request), actor=who.actor, ws_id=ws_id)
    with _db(request) as session:
        return usecases.check_output(session, _platform(request), ws_id=ws_id, output_id=output_id)


@router.post("/api/workspaces/{ws_id}/releases", response_model=RequestOut, status_code=201)
def create_request(request: Request, ws_id: int, body: RequestIn, who: Member):
    with _db(request) as session:
        created = airlock.create_request(session, actor=who.actor, ws=workspaces.get_workspace(session, ws_id),
                                         title=body.title, settings=_platform(request).settings)
        return RequestOut.build(session, created, who.actor)


@router.get("/api/workspaces/{ws_id}/releases", response_model=list[RequestOut])
def list_requests(request: Request, ws_id: int, who: Member):
    query.admit(_platform(request), actor=who.actor, ws_id=ws_id)
    with _db(request) as session:
        ws = workspaces.get_workspace(session, ws_id)
        return [RequestOut.build(session, r, who.actor) for r in airlock.list_requests(session, ws=ws)]


@router.get("/api/airlock/queue", response_model=list[RequestOut])
def review_queue(request: Request, who: Checker):
    """Requests awaiting review that this checker may review (not their own project's)."""
    with _db(request) as session:
        return [RequestOut.build(session, r, who.actor) for r in usecases.review_queue(session, who.actor)]


@router.get("/api/releases/{request_id}", response_model=RequestOut)
def get_request(request: Request, request_id: int, who: Reader):
    with _db(request) as session:
        return RequestOut.build(session, usecases.readable_request(session, who.actor, request_id), who.actor)


@router.put("/api/releases/{request_id}/files", response_model=RequestOut)
def put_file(request: Request, request_id: int, body: FileIn, who: Member):
    """Add an output to the request, or replace the one of the same name (its review starts again)."""
    with _db(request) as session:
        release_request = airlock.get_request(session, request_id)
        airlock.add_file(session, platform=_platform(request), actor=who.actor, request=release_request,
                         output_id=body.output_id, description=body.description, exception=body.exception)
        return RequestOut.build(session, release_request, who.actor)


@router.delete("/api/releases/{request_id}/files/{name}", response_model=RequestOut)
def delete_file(request: Request, request_id: int, name: str, who: Member):
    with _db(request) as session:
        release_request = airlock.get_request(session, request_id)
        airlock.remove_file(session, actor=who.actor, request=release_request, name=name)
        return RequestOut.build(session, release_request, who.actor)


@router.get("/api/releases/{request_id}/files/{name}", dependencies=[allows(Egress.REVIEW)])
def file_content(request: Request, request_id: int, name: str, who: Checker):
    """The output as submitted, for an independent checker while the request is under review
    (audited); its researchers see it in their workspace and download it once released."""
    with _db(request) as session:
        content = airlock.file_content(session, platform=_platform(request), actor=who.actor,
                                       request=airlock.get_request(session, request_id), name=name)
    return Response(content, media_type="application/octet-stream",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


@router.post("/api/releases/{request_id}/actions", response_model=RequestOut)
def act(request: Request, request_id: int, body: ActionIn, who: Reader):
    """The researcher submits or withdraws; a checker approves (then it is released), returns or rejects."""
    with _db(request) as session:
        release_request = airlock.get_request(session, request_id)
        usecases.act(session, platform=_platform(request), actor=who.actor, request=release_request,
                     action=body.action, comment=body.comment)
        return RequestOut.build(session, release_request, who.actor)


@router.post("/api/releases/{request_id}/comments", response_model=RequestOut, status_code=201)
def add_comment(request: Request, request_id: int, body: CommentIn, who: Reader):
    """A word between the project's persons and the checkers, about the request or one file."""
    with _db(request) as session:
        release_request = airlock.get_request(session, request_id)
        comments.comment(session, actor=who.actor, request=release_request, body=body.body, file=body.file)
        return RequestOut.build(session, release_request, who.actor)


@router.post("/api/releases/{request_id}/votes", response_model=RequestOut)
def vote(request: Request, request_id: int, body: VoteIn, who: Checker):
    with _db(request) as session:
        release_request = airlock.get_request(session, request_id)
        airlock.vote(session, actor=who.actor, request=release_request, name=body.file, decision=body.decision,
                     comment=body.comment)
        return RequestOut.build(session, release_request, who.actor)


@router.post("/api/releases/{request_id}/revoke", response_model=RequestOut)
def revoke(request: Request, request_id: int, body: RevokeIn, who: Checker):
    with _db(request) as session:
        release_request = airlock.get_request(session, request_id)
        usecases.revoke(session, actor=who.actor, request=release_request, reason=body.reason)
        return RequestOut.build(session, release_request, who.actor)


@router.get("/api/releases/{request_id}/released/{name}", dependencies=[allows(Egress.RELEASED)])
def download(request: Request, request_id: int, name: str, who: Member):
    """A released file, or RELEASE.json (its signed record), for the permit's persons; audited."""
    with _db(request) as session:
        release = usecases.released(session, airlock.get_request(session, request_id))
        content = airlock.download(session, platform=_platform(request), actor=who.actor, release=release, name=name)
    media = "application/json" if name == RECORD else "application/octet-stream"
    return Response(content, media_type=media, headers={"Content-Disposition": f'attachment; filename="{name}"'})


# -- the import lane (SPE-09) ---------------------------------------------------------------------

async def _upload(request: Request) -> bytes:
    """The request's body, refused before it is read when it says it is too large."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > imports.MAX_BYTES:
        raise InvalidInput(f"a file comes in with at most {imports.MAX_BYTES // 2**20} MiB", details={"field": "content"})
    return await request.body()


@router.put("/api/workspaces/{ws_id}/imports/{name}", response_model=ImportOut, status_code=201)
def put_import(request: Request, ws_id: int, name: str, purpose: str, who: Member,
               content: Annotated[bytes, Depends(_upload)]):
    """Ask to bring a file in (the body is the file): checked now, decided by an independent checker."""
    with _db(request) as session:
        return ImportOut.build(imports.request_import(session, platform=_platform(request), actor=who.actor,
                                                      ws=workspaces.get_workspace(session, ws_id), name=name,
                                                      content=content, purpose=purpose))


@router.get("/api/workspaces/{ws_id}/imports", response_model=list[ImportOut])
def list_imports(request: Request, ws_id: int, who: Member):
    query.admit(_platform(request), actor=who.actor, ws_id=ws_id)
    with _db(request) as session:
        return [ImportOut.build(i) for i in imports.list_imports(session, ws=workspaces.get_workspace(session, ws_id))]


@router.get("/api/airlock/imports", response_model=list[ImportOut])
def import_queue(request: Request, who: Checker):
    with _db(request) as session:
        return [ImportOut.build(i) for i in usecases.import_queue(session, who.actor)]


@router.get("/api/imports/{import_id}/content", dependencies=[allows(Egress.IMPORT_REVIEW)])
def import_content(request: Request, import_id: int, who: Checker):
    """The file as submitted, for the checker who decides on it."""
    with _db(request) as session:
        imp = imports.get_import(session, import_id)
        airlock.require_independent(who.actor, imp)
        data = imports.read_for_review(session, platform=_platform(request), actor=who.actor, imp=imp)
    return Response(data, media_type="application/octet-stream",
                    headers={"Content-Disposition": f'attachment; filename="{imp.name}"'})


@router.post("/api/imports/{import_id}/decision", response_model=ImportOut)
def decide_import(request: Request, import_id: int, body: ActionIn, who: Reader):
    """A checker approves or rejects; the researcher may withdraw."""
    with _db(request) as session:
        imp = imports.get_import(session, import_id)
        imports.decide(session, actor=who.actor, imp=imp, action=body.action, comment=body.comment)
        return ImportOut.build(imp)

"""/api/releases and the outputs' checks: the airlock's API (SPE-07, SPE-08, AUD-09)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, Field

from bastide.airlock import imports
from bastide.airlock import service as airlock
from bastide.airlock.rules import Parameters
from bastide.airlock.service import RECORD
from bastide.api.egress import Egress, allows
from bastide.api.auth import Principal, guard
from bastide.errors import InvalidInput, NotFound
from bastide.ids import Id
from bastide.identity.roles import Permission as P
from bastide.workspaces import query
from bastide.workspaces import service as workspaces
from bastide.workspaces.models import Output

router = APIRouter(tags=["airlock"], dependencies=[allows(Egress.WORKSPACE)])
Member = Annotated[Principal, Depends(guard(P.WORKSPACE_ENTER))]
Checker = Annotated[Principal, Depends(guard(P.OUTPUT_REVIEW))]
Reader = Annotated[Principal, Depends(guard(P.WORKSPACE_ENTER, P.OUTPUT_REVIEW))]


class VoteOut(BaseModel):
    reviewer: str
    decision: str
    comment: str
    created_at: datetime


class FileOut(BaseModel):
    name: str
    output_id: int
    sha256: str
    description: str
    exception: str | None
    report: dict[str, Any] = Field(description="The disclosure checks' findings, each naming its rule, parameters "
                                               "and cell.")
    round: int
    votes: list[VoteOut] = Field(description="This round's votes; hidden from a checker until they vote (blind).")


class ReleaseOut(BaseModel):
    id: int
    reference: str
    record_sha256: str
    created_at: datetime
    revoked_at: datetime | None
    revoked_reason: str | None


class RequestOut(BaseModel):
    id: int
    reference: str
    workspace: str
    workspace_id: int
    title: str
    status: str
    requested_by: str
    approvals_required: int
    parameters: dict[str, Any]
    comment: str | None
    files: list[FileOut]
    release: ReleaseOut | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def build(cls, session, request, who: Principal) -> RequestOut:
        files = [FileOut(name=f.name, output_id=f.output_id, sha256=f.sha256, description=f.description,
                         exception=f.exception, report=f.report, round=f.round,
                         votes=[VoteOut(reviewer=v.reviewer, decision=v.decision, comment=v.comment,
                                        created_at=v.created_at) for v in airlock.visible_votes(who.actor, request, f)])
                 for f in request.files]
        rel = airlock.release_of(session, request)
        release = ReleaseOut(id=rel.id, reference=rel.reference, record_sha256=rel.record_sha256,
                             created_at=rel.created_at, revoked_at=rel.revoked_at,
                             revoked_reason=rel.revoked_reason) if rel else None
        return cls(id=request.id, reference=request.reference, workspace=request.workspace.reference,
                   workspace_id=request.workspace_id, title=request.title, status=request.status,
                   requested_by=request.requested_by, approvals_required=request.approvals_required,
                   parameters=request.parameters, comment=request.comment, files=files, release=release,
                   created_at=request.created_at, updated_at=request.updated_at)


class RequestIn(BaseModel):
    title: str


class FileIn(BaseModel):
    output_id: Id
    description: str = Field(description="What the file shows, the population, how it was computed.")
    exception: str | None = Field(None, description="Why a blocked finding is safe to release all the same.")


class ActionIn(BaseModel):
    action: str = Field(description="researcher: submit or withdraw; checker: approve, return or reject")
    comment: str = ""


class VoteIn(BaseModel):
    file: str
    decision: str = Field(description="approve, reject or return")
    comment: str = ""


class RevokeIn(BaseModel):
    reason: str


def _platform(request: Request):
    return request.app.state.platform


def _db(request: Request):
    return _platform(request).db.unit_of_work()


def _readable(session, request_id: int, who: Principal):
    release_request = airlock.get_request(session, request_id)
    airlock.may_read(who.actor, release_request)
    return release_request


@router.post("/api/workspaces/{ws_id}/outputs/{output_id}/check")
def check_output(request: Request, ws_id: int, output_id: int, who: Member) -> dict:
    """Run the disclosure checks on an output before asking for it (nothing is recorded)."""
    platform = _platform(request)
    query.admit(platform, actor=who.actor, ws_id=ws_id)
    with _db(request) as session:
        output = session.get(Output, output_id)
        if output is None or output.workspace_id != ws_id:
            raise NotFound(f"no output {output_id} in this workspace")
        s = platform.settings
        return airlock.check_output(session, platform, output, Parameters(threshold=s.airlock_threshold))


@router.post("/api/workspaces/{ws_id}/releases", response_model=RequestOut, status_code=201)
def create_request(request: Request, ws_id: int, body: RequestIn, who: Member):
    with _db(request) as session:
        created = airlock.create_request(session, actor=who.actor, ws=workspaces.get_workspace(session, ws_id),
                                         title=body.title, settings=_platform(request).settings)
        return RequestOut.build(session, created, who)


@router.get("/api/workspaces/{ws_id}/releases", response_model=list[RequestOut])
def list_requests(request: Request, ws_id: int, who: Member):
    query.admit(_platform(request), actor=who.actor, ws_id=ws_id)
    with _db(request) as session:
        ws = workspaces.get_workspace(session, ws_id)
        return [RequestOut.build(session, r, who) for r in airlock.list_requests(session, ws=ws)]


@router.get("/api/airlock/queue", response_model=list[RequestOut])
def review_queue(request: Request, who: Checker):
    """Requests awaiting review that this checker may review (not their own project's)."""
    with _db(request) as session:
        waiting = airlock.list_requests(session, status=("submitted", "partially_reviewed", "reviewed"))
        return [RequestOut.build(session, r, who) for r in waiting if airlock.independent(who.actor, r)]


@router.get("/api/releases/{request_id}", response_model=RequestOut)
def get_request(request: Request, request_id: int, who: Reader):
    with _db(request) as session:
        return RequestOut.build(session, _readable(session, request_id, who), who)


@router.put("/api/releases/{request_id}/files", response_model=RequestOut)
def put_file(request: Request, request_id: int, body: FileIn, who: Member):
    """Add an output to the request, or replace the one of the same name (its review starts again)."""
    with _db(request) as session:
        release_request = airlock.get_request(session, request_id)
        airlock.add_file(session, platform=_platform(request), actor=who.actor, request=release_request,
                         output_id=body.output_id, description=body.description, exception=body.exception)
        return RequestOut.build(session, release_request, who)


@router.delete("/api/releases/{request_id}/files/{name}", response_model=RequestOut)
def delete_file(request: Request, request_id: int, name: str, who: Member):
    with _db(request) as session:
        release_request = airlock.get_request(session, request_id)
        airlock.remove_file(session, actor=who.actor, request=release_request, name=name)
        return RequestOut.build(session, release_request, who)


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
    platform = _platform(request)
    with _db(request) as session:
        release_request = airlock.get_request(session, request_id)
        if body.action == "submit":
            airlock.submit(session, platform=platform, actor=who.actor, request=release_request)
        elif body.action == "withdraw":
            airlock.withdraw(session, actor=who.actor, request=release_request)
        elif body.action in ("approve", "return", "reject"):
            airlock.decide(session, platform=platform, actor=who.actor, request=release_request, action=body.action,
                           comment=body.comment)
        else:
            raise InvalidInput("the action is submit, withdraw, approve, return or reject", details={"field": "action"})
        return RequestOut.build(session, release_request, who)


@router.post("/api/releases/{request_id}/votes", response_model=RequestOut)
def vote(request: Request, request_id: int, body: VoteIn, who: Checker):
    with _db(request) as session:
        release_request = airlock.get_request(session, request_id)
        airlock.vote(session, actor=who.actor, request=release_request, name=body.file, decision=body.decision,
                     comment=body.comment)
        return RequestOut.build(session, release_request, who)


@router.post("/api/releases/{request_id}/revoke", response_model=RequestOut)
def revoke(request: Request, request_id: int, body: RevokeIn, who: Checker):
    with _db(request) as session:
        release_request = airlock.get_request(session, request_id)
        release = airlock.release_of(session, release_request)
        if release is None:
            raise NotFound(f"{release_request.reference} was not released")
        airlock.revoke(session, actor=who.actor, release=release, reason=body.reason)
        return RequestOut.build(session, release_request, who)


@router.get("/api/releases/{request_id}/released/{name}", dependencies=[allows(Egress.RELEASED)])
def download(request: Request, request_id: int, name: str, who: Member):
    """A released file, or RELEASE.json (its signed record), for the permit's persons; audited."""
    with _db(request) as session:
        release = airlock.release_of(session, airlock.get_request(session, request_id))
        if release is None:
            raise NotFound(f"request {request_id} was not released")
        content = airlock.download(session, platform=_platform(request), actor=who.actor, release=release, name=name)
    media = "application/json" if name == RECORD else "application/octet-stream"
    return Response(content, media_type=media, headers={"Content-Disposition": f'attachment; filename="{name}"'})


# -- the import lane (SPE-09) ---------------------------------------------------------------------

class ImportOut(BaseModel):
    id: int
    reference: str
    workspace: str
    workspace_id: int
    status: str
    name: str
    purpose: str
    sha256: str
    size: int
    report: dict[str, Any] = Field(description="The identifier scan: status and findings.")
    requested_by: str
    reviewer: str | None
    comment: str | None
    created_at: datetime

    @classmethod
    def build(cls, imp) -> ImportOut:
        return cls(id=imp.id, reference=imp.reference, workspace=imp.workspace.reference,
                   workspace_id=imp.workspace_id, status=imp.status,
                   name=imp.name, purpose=imp.purpose, sha256=imp.sha256, size=imp.size, report=imp.report,
                   requested_by=imp.requested_by, reviewer=imp.reviewer, comment=imp.comment,
                   created_at=imp.created_at)


async def _upload(request: Request) -> bytes:
    """The request's body, refused before it is read when it says it is too large."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > imports.MAX_BYTES:
        raise InvalidInput(f"a file comes in with at most {imports.MAX_BYTES // 2**20} MiB", details={"field": "content"})
    return await request.body()


def bring_in(request: Request, ws_id: int, name: str, purpose: str, content: bytes, who: Principal) -> ImportOut:
    with _db(request) as session:
        imp = imports.request_import(session, platform=_platform(request), actor=who.actor,
                                     ws=workspaces.get_workspace(session, ws_id), name=name, content=content,
                                     purpose=purpose)
        return ImportOut.build(imp)


@router.put("/api/workspaces/{ws_id}/imports/{name}", response_model=ImportOut, status_code=201)
def put_import(request: Request, ws_id: int, name: str, purpose: str, who: Member,
               content: Annotated[bytes, Depends(_upload)]):
    """Ask to bring a file in (the body is the file): checked now, decided by an independent checker."""
    return bring_in(request, ws_id, name, purpose, content, who)


@router.get("/api/workspaces/{ws_id}/imports", response_model=list[ImportOut])
def list_imports(request: Request, ws_id: int, who: Member):
    query.admit(_platform(request), actor=who.actor, ws_id=ws_id)
    with _db(request) as session:
        return [ImportOut.build(i) for i in imports.list_imports(session, ws=workspaces.get_workspace(session, ws_id))]


@router.get("/api/airlock/imports", response_model=list[ImportOut])
def import_queue(request: Request, who: Checker):
    with _db(request) as session:
        return [ImportOut.build(i) for i in imports.list_imports(session, status=("submitted",))
                if airlock.independent(who.actor, i)]


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

"""The airlock's read and write models, shared by the API and the pages (SPE-07, SPE-08, SPE-09)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from bastide.airlock import service as airlock
from bastide.ids import Id
from bastide.statemachine import Actor


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


class CommentOut(BaseModel):
    author: str
    file: str | None = Field(description="The file it is about, or null: the whole request.")
    round: int
    body: str
    created_at: datetime


class CommentIn(BaseModel):
    body: str = Field(description="What to say (at most 4,000 characters).")
    file: str | None = Field(None, description="The file it is about, if one.")


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
    comments: list[CommentOut] = Field(description="Between the project's persons and the checkers, oldest first.")
    release: ReleaseOut | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def build(cls, session, request, actor: Actor) -> RequestOut:
        """The request as `actor` may see it: votes of this round hidden from a checker until they vote."""
        files = [FileOut(name=f.name, output_id=f.output_id, sha256=f.sha256, description=f.description,
                         exception=f.exception, report=f.report, round=f.round,
                         votes=[VoteOut(reviewer=v.reviewer, decision=v.decision, comment=v.comment,
                                        created_at=v.created_at) for v in airlock.visible_votes(actor, request, f)])
                 for f in request.files]
        rel = airlock.release_of(session, request)
        release = ReleaseOut(id=rel.id, reference=rel.reference, record_sha256=rel.record_sha256,
                             created_at=rel.created_at, revoked_at=rel.revoked_at,
                             revoked_reason=rel.revoked_reason) if rel else None
        return cls(id=request.id, reference=request.reference, workspace=request.workspace.reference,
                   workspace_id=request.workspace_id, title=request.title, status=request.status,
                   requested_by=request.requested_by, approvals_required=request.approvals_required,
                   parameters=request.parameters, comment=request.comment, files=files, release=release,
                   comments=[CommentOut(author=c.author, file=c.file, round=c.round, body=c.body,
                                        created_at=c.created_at) for c in request.comments],
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

"""/api/workspaces: the researcher's side of a workspace (home, SQL) and the operator's list."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from bastide.api.auth import Principal, guard
from bastide.identity.policy import has_permission
from bastide.identity.roles import Permission as P
from bastide.workspaces import query
from bastide.workspaces import service as workspaces
from bastide.workspaces.models import Workspace

router = APIRouter(tags=["workspaces"])
Member = Annotated[Principal, Depends(guard(P.WORKSPACE_ENTER))]
Viewer = Annotated[Principal, Depends(guard(P.WORKSPACE_ENTER, P.SNAPSHOT_INGEST))]


class WorkspaceOut(BaseModel):
    id: int
    reference: str
    application: str
    permit: str
    status: str
    status_reason: str | None
    extract_version: int | None
    persons: int | None
    tables: dict[str, Any] = Field(description="Table name -> rows and how it meets the cohort.")

    @classmethod
    def build(cls, session, ws: Workspace) -> WorkspaceOut:
        current = workspaces.current_extract(session, ws)
        return cls(id=ws.id, reference=ws.reference, application=ws.application.reference, permit=ws.permit.reference,
                   status=ws.status, status_reason=ws.status_reason,
                   extract_version=current.version if current else None, persons=current.cohort if current else None,
                   tables=current.tables if current else {})


class QueryIn(BaseModel):
    sql: str


class QueryOut(BaseModel):
    columns: list[str]
    rows: list[list[Any]]
    row_count: int
    truncated: bool
    seconds: float


def _db(request: Request):
    return request.app.state.platform.db.unit_of_work()


@router.get("/api/workspaces", response_model=list[WorkspaceOut])
def list_workspaces(request: Request, who: Viewer):
    """A researcher sees the workspaces whose permit names them; the data operator sees all (no data)."""
    with _db(request) as session:
        rows = workspaces.list_workspaces(session)
        if not has_permission(who.actor, P.SNAPSHOT_INGEST):
            rows = [ws for ws in rows if who.actor.id.removeprefix("user:") in query.members(ws)]
        return [WorkspaceOut.build(session, ws) for ws in rows]


@router.get("/api/workspaces/{ws_id}", response_model=WorkspaceOut)
def get_workspace(request: Request, ws_id: int, who: Member):
    with _db(request) as session:
        ws = workspaces.get_workspace(session, ws_id)
        error = query.enter(session, actor=who.actor, ws=ws)
        out = WorkspaceOut.build(session, ws) if error is None else None
    if error is not None:
        raise error
    return out


@router.post("/api/workspaces/{ws_id}/queries", response_model=QueryOut)
def run_query(request: Request, ws_id: int, body: QueryIn, who: Member):
    """SQL on the workspace's extract only, sealed, time- and memory-limited, audited (SPE-10)."""
    result = query.run_query(request.app.state.platform, actor=who.actor, ws_id=ws_id, sql=body.sql)
    return QueryOut(columns=result.columns, rows=result.rows, row_count=result.row_count, truncated=result.truncated,
                    seconds=result.seconds)

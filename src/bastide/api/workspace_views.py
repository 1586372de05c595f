"""/api/workspaces: the researcher's side of a workspace (home, SQL) and the operator's list."""

from __future__ import annotations

from typing import Annotated, Any

from datetime import datetime

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from bastide.api.egress import Egress, allows
from bastide.api.auth import Principal, guard
from bastide.errors import NotFound
from bastide.identity.policy import has_permission
from bastide.identity.roles import Permission as P
from bastide.workspaces import jobs, query, viewing
from bastide.workspaces import service as workspaces
from bastide.workspaces.models import Workspace

router = APIRouter(tags=["workspaces"], dependencies=[allows(Egress.WORKSPACE)])
Member = Annotated[Principal, Depends(guard(P.WORKSPACE_ENTER))]
Viewer = Annotated[Principal, Depends(guard(P.WORKSPACE_ENTER, P.SNAPSHOT_INGEST))]


class WorkspaceOut(BaseModel):
    id: int
    reference: str
    application: str
    permit: str
    status: str
    status_reason: str | None
    progress: str | None = Field(description="While the extract builds: the step it is at.")
    extract_version: int | None
    persons: int | None
    tables: dict[str, Any] = Field(description="Table name -> rows and how it meets the cohort.")
    engine: str = Field(description="What its extract, queries and jobs run on: duckdb or spark (the permit's "
                        "processing environment, else the platform's).")

    @classmethod
    def build(cls, session, ws: Workspace, settings) -> WorkspaceOut:
        current, building = workspaces.current_extract(session, ws), workspaces.building_extract(session, ws)
        return cls(id=ws.id, reference=ws.reference, application=ws.application.reference, permit=ws.permit.reference,
                   status=ws.status, status_reason=ws.status_reason, progress=building.progress if building else None,
                   extract_version=current.version if current else None, persons=current.cohort if current else None,
                   tables=current.tables if current else {}, engine=workspaces.engine_of(ws.permit, settings))


class QueryIn(BaseModel):
    sql: str


class QueryOut(BaseModel):
    """A screen view (issue 13): at most BASTIDE_WORKSPACE_QUERY_ROWS rows and _QUERY_SIZE bytes,
    within the person's daily quota; the whole result leaves only as an output, through the airlock."""
    columns: list[str]
    rows: list[list[Any]]
    row_count: int
    truncated: bool
    seconds: float
    truncated_by: str | None = Field(None, description="Why rows are missing: rows (the answer's cap), bytes, or "
                                     "quota (the daily quota of rows shown in this workspace).")
    quota_left: int | None = Field(None, description="Rows this person may still be shown in this workspace today.")


def _db(request: Request):
    return request.app.state.platform.db.unit_of_work()


@router.get("/api/workspaces", response_model=list[WorkspaceOut])
def list_workspaces(request: Request, who: Viewer):
    """A researcher sees the workspaces whose permit names them; the data operator sees all (no data)."""
    with _db(request) as session:
        rows = workspaces.list_workspaces(session)
        if not has_permission(who.actor, P.SNAPSHOT_INGEST):
            rows = [ws for ws in rows if who.actor.id.removeprefix("user:") in query.members(ws)]
        return [WorkspaceOut.build(session, ws, request.app.state.platform.settings) for ws in rows]


@router.get("/api/workspaces/{ws_id}", response_model=WorkspaceOut)
def get_workspace(request: Request, ws_id: int, who: Member):
    _member_workspace(request, ws_id, who)
    with _db(request) as session:
        return WorkspaceOut.build(session, workspaces.get_workspace(session, ws_id), request.app.state.platform.settings)


@router.post("/api/workspaces/{ws_id}/queries", response_model=QueryOut, dependencies=[allows(Egress.SCREEN_VIEW)])
def run_query(request: Request, ws_id: int, body: QueryIn, who: Member):
    """SQL on the workspace's extract only, sealed, time- and memory-limited, audited (SPE-10)."""
    result = query.run_query(request.app.state.platform, actor=who.actor, ws_id=ws_id, sql=body.sql)
    return QueryOut(columns=result.columns, rows=result.rows, row_count=result.row_count, truncated=result.truncated,
                    seconds=result.seconds, truncated_by=result.truncated_by, quota_left=result.quota_left)


class JobIn(BaseModel):
    name: str = "job"
    kind: str = Field("python", description="python or sql")
    script: str


class JobOut(BaseModel):
    id: int
    reference: str
    name: str
    kind: str
    status: str
    submitted_by: str
    script: str = Field(description="The script as submitted (the researcher's own code: shown on the job's page, "
                        "and to checkers as a release's provenance).")
    script_sha256: str
    exit_code: int | None
    log: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None

    @classmethod
    def build(cls, job) -> JobOut:
        return cls(id=job.id, reference=job.reference, name=job.name, kind=job.kind, status=job.status,
                   submitted_by=job.submitted_by, script=job.script, script_sha256=job.script_sha256,
                   exit_code=job.exit_code,
                   log=job.log, created_at=job.created_at, started_at=job.started_at, finished_at=job.finished_at)


class OutputOut(BaseModel):
    id: int
    name: str
    job: str | None
    sha256: str
    size: int
    provenance: dict[str, Any]
    created_at: datetime


class SaveIn(BaseModel):
    sql: str
    name: str = "result"
    format: str = Field("csv", description="csv or parquet")


class SavedOut(BaseModel):
    name: str
    rows: int


@router.post("/api/workspaces/{ws_id}/queries/save", response_model=SavedOut, status_code=201)
def save_query(request: Request, ws_id: int, body: SaveIn, who: Member):
    """Keep a query's whole result as an output of the workspace (it leaves only through the airlock)."""
    name, rows = query.save_result(request.app.state.platform, actor=who.actor, ws_id=ws_id, sql=body.sql,
                                   name=body.name, fmt=body.format)
    return SavedOut(name=name, rows=rows)


def _member_workspace(request: Request, ws_id: int, who: Principal):
    """The workspace, once `who` is let in (a refusal is committed to the audit trail, then raised)."""
    query.admit(request.app.state.platform, actor=who.actor, ws_id=ws_id)
    with _db(request) as session:
        return workspaces.get_workspace(session, ws_id)


@router.post("/api/workspaces/{ws_id}/jobs", response_model=JobOut, status_code=202, dependencies=[allows(Egress.SCREEN_VIEW)])
def submit_job(request: Request, ws_id: int, body: JobIn, who: Member):
    """Queue a script; a worker runs it in the sandbox (poll the job for its end)."""
    platform = request.app.state.platform
    job_id = jobs.submit(platform, actor=who.actor, ws_id=ws_id, name=body.name, kind=body.kind, script=body.script)
    with _db(request) as session:
        return JobOut.build(jobs.get_job(session, job_id))


@router.get("/api/workspaces/{ws_id}/jobs", response_model=list[JobOut], dependencies=[allows(Egress.SCREEN_VIEW)])
def list_jobs(request: Request, ws_id: int, who: Member):
    ws = _member_workspace(request, ws_id, who)
    with _db(request) as session:
        return [JobOut.build(j) for j in jobs.list_jobs(session, ws)]


@router.get("/api/workspaces/{ws_id}/jobs/{job_id}", response_model=JobOut, dependencies=[allows(Egress.SCREEN_VIEW)])
def get_job(request: Request, ws_id: int, job_id: int, who: Member):
    _member_workspace(request, ws_id, who)
    with _db(request) as session:
        job = jobs.get_job(session, job_id)
        if job.workspace_id != ws_id:
            raise NotFound(f"no job {job_id} in this workspace")
        return JobOut.build(job)


@router.get("/api/workspaces/{ws_id}/outputs", response_model=list[OutputOut])
def list_outputs(request: Request, ws_id: int, who: Member):
    """What the jobs wrote, with provenance; they leave the workspace only through the airlock."""
    ws = _member_workspace(request, ws_id, who)
    with _db(request) as session:
        return [OutputOut(id=o.id, name=o.name, job=f"JOB-{o.job_id:06d}" if o.job_id else None, sha256=o.sha256,
                          size=o.size, provenance=o.provenance, created_at=o.created_at)
                for o in jobs.list_outputs(session, ws)]


class OutputViewOut(BaseModel):
    """An output's first lines, shown in the workspace (a screen view, counted in the daily quota)."""
    output_id: int
    name: str
    shown: bool
    text: str
    lines: int
    truncated_by: str | None = Field(None, description="rows, bytes or quota: the file has more than is shown.")
    reason: str | None = Field(None, description="Why nothing is shown (not a text output).")
    quota_left: int | None = None


@router.get("/api/workspaces/{ws_id}/outputs/{output_id}/view", response_model=OutputViewOut,
            dependencies=[allows(Egress.SCREEN_VIEW)])
def view_output(request: Request, ws_id: int, output_id: int, who: Member):
    """An output's first lines, for the permit's persons: the whole file leaves only through the airlock."""
    seen = viewing.view_output(request.app.state.platform, actor=who.actor, ws_id=ws_id, output_id=output_id)
    return OutputViewOut(**seen.__dict__)

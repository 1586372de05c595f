"""/api/workspaces: the researcher's side of a workspace (home, SQL) and the operator's list."""

from __future__ import annotations

from fastapi import APIRouter, Request

from bastide.gate.egress import Egress, allows
from bastide.gate.guards import Member, WorkspaceViewer as Viewer
from bastide.gate.request import platform_of as _platform
from bastide.gate.request import unit_of_work as _db
from bastide.workspaces import jobs, query, saved, usecases, viewing
from bastide.workspaces import service as workspaces
from bastide.workspaces.schemas import (ExtractTableOut, JobIn, JobOut, KeptQueryIn, KeptQueryOut, OutputOut,
                                        OutputViewOut, QueryIn, QueryOut, SavedOut, SaveIn, WorkspaceOut)

router = APIRouter(tags=["workspaces"], dependencies=[allows(Egress.WORKSPACE)])


@router.get("/api/workspaces", response_model=list[WorkspaceOut])
def list_workspaces(request: Request, who: Viewer):
    """A researcher sees the workspaces whose permit names them; the data operator sees all (no data)."""
    with _db(request) as session:
        return [WorkspaceOut.build(session, ws, _platform(request).settings)
                for ws in usecases.visible_workspaces(session, who.actor)]


@router.get("/api/workspaces/{ws_id}", response_model=WorkspaceOut)
def get_workspace(request: Request, ws_id: int, who: Member):
    query.admit(_platform(request), actor=who.actor, ws_id=ws_id)
    with _db(request) as session:
        return WorkspaceOut.build(session, workspaces.get_workspace(session, ws_id), _platform(request).settings)


@router.post("/api/workspaces/{ws_id}/queries", response_model=QueryOut, dependencies=[allows(Egress.SCREEN_VIEW)])
def run_query(request: Request, ws_id: int, body: QueryIn, who: Member):
    """SQL on the workspace's extract only, sealed, time- and memory-limited, audited (SPE-10)."""
    return QueryOut.build(query.run_query(_platform(request), actor=who.actor, ws_id=ws_id, sql=body.sql))


@router.post("/api/workspaces/{ws_id}/queries/save", response_model=SavedOut, status_code=201)
def save_query(request: Request, ws_id: int, body: SaveIn, who: Member):
    """Keep a query's whole result as an output of the workspace (it leaves only through the airlock)."""
    name, rows = query.save_result(_platform(request), actor=who.actor, ws_id=ws_id, sql=body.sql,
                                   name=body.name, fmt=body.format)
    return SavedOut(name=name, rows=rows)


@router.post("/api/workspaces/{ws_id}/jobs", response_model=JobOut, status_code=202, dependencies=[allows(Egress.SCREEN_VIEW)])
def submit_job(request: Request, ws_id: int, body: JobIn, who: Member):
    """Queue a script; a worker runs it in the sandbox (poll the job for its end)."""
    job_id = jobs.submit(_platform(request), actor=who.actor, ws_id=ws_id, name=body.name, kind=body.kind, script=body.script)
    with _db(request) as session:
        return JobOut.build(jobs.get_job(session, job_id))


@router.get("/api/workspaces/{ws_id}/jobs", response_model=list[JobOut], dependencies=[allows(Egress.SCREEN_VIEW)])
def list_jobs(request: Request, ws_id: int, who: Member):
    query.admit(_platform(request), actor=who.actor, ws_id=ws_id)
    with _db(request) as session:
        return [JobOut.build(j) for j in jobs.list_jobs(session, workspaces.get_workspace(session, ws_id))]


@router.get("/api/workspaces/{ws_id}/jobs/{job_id}", response_model=JobOut, dependencies=[allows(Egress.SCREEN_VIEW)])
def get_job(request: Request, ws_id: int, job_id: int, who: Member):
    query.admit(_platform(request), actor=who.actor, ws_id=ws_id)
    with _db(request) as session:
        return JobOut.build(usecases.job_in(session, ws_id, job_id))


@router.get("/api/workspaces/{ws_id}/outputs", response_model=list[OutputOut])
def list_outputs(request: Request, ws_id: int, who: Member):
    """What the jobs wrote, with provenance; they leave the workspace only through the airlock."""
    query.admit(_platform(request), actor=who.actor, ws_id=ws_id)
    with _db(request) as session:
        return [OutputOut.build(o) for o in jobs.list_outputs(session, workspaces.get_workspace(session, ws_id))]


@router.get("/api/workspaces/{ws_id}/outputs/{output_id}/view", response_model=OutputViewOut,
            dependencies=[allows(Egress.SCREEN_VIEW)])
def view_output(request: Request, ws_id: int, output_id: int, who: Member):
    """An output's first lines, for the permit's persons: the whole file leaves only through the airlock."""
    seen = viewing.view_output(_platform(request), actor=who.actor, ws_id=ws_id, output_id=output_id)
    return OutputViewOut(**seen.__dict__)


@router.get("/api/workspaces/{ws_id}/schema", response_model=list[ExtractTableOut])
def schema(request: Request, ws_id: int, who: Member):
    """The extract's tables and columns, described by the release's dictionary (no data)."""
    query.admit(_platform(request), actor=who.actor, ws_id=ws_id)
    with _db(request) as session:
        return [ExtractTableOut.build(t) for t in usecases.schema_of(session, workspaces.get_workspace(session, ws_id))]


@router.get("/api/workspaces/{ws_id}/kept-queries", response_model=list[KeptQueryOut])
def kept_queries(request: Request, ws_id: int, who: Member):
    query.admit(_platform(request), actor=who.actor, ws_id=ws_id)
    with _db(request) as session:
        return [KeptQueryOut.build(q) for q in saved.list_saved(session, workspaces.get_workspace(session, ws_id))]


@router.post("/api/workspaces/{ws_id}/kept-queries", response_model=KeptQueryOut, status_code=201)
def keep_query(request: Request, ws_id: int, body: KeptQueryIn, who: Member):
    """Keep a query by name for the project's persons (the same name replaces your own)."""
    query.admit(_platform(request), actor=who.actor, ws_id=ws_id)
    with _db(request) as session:
        return KeptQueryOut.build(saved.keep(session, actor=who.actor, ws=workspaces.get_workspace(session, ws_id),
                                             name=body.name, sql=body.sql))


@router.delete("/api/workspaces/{ws_id}/kept-queries/{query_id}", status_code=204)
def forget_query(request: Request, ws_id: int, query_id: int, who: Member):
    query.admit(_platform(request), actor=who.actor, ws_id=ws_id)
    with _db(request) as session:
        saved.forget(session, actor=who.actor, ws=workspaces.get_workspace(session, ws_id), query_id=query_id)

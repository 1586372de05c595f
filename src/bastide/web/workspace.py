"""The researcher's workspace pages: the list, a workspace's home (SQL console with the person's
recent queries, jobs, outputs, release and import requests), a job's page, an output's first lines.
Entry is checked once per page (`query.admit`: a refusal is audited), then one unit of work reads
what the page shows."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from bastide.airlock import imports
from bastide.airlock import service as airlock
from bastide.airlock.schemas import ImportOut, RequestOut
from bastide.airlock.tables import is_evidence
from bastide.errors import Conflict, DomainError, InvalidInput
from bastide.gate.auth import Principal
from bastide.gate.egress import Egress, allows
from bastide.gate.guards import Member, WorkspaceViewer
from bastide.gate.request import platform_of as _platform
from bastide.gate.request import unit_of_work as _db
from bastide.web import chart
from bastide.web.forms import invalid_fields
from bastide.web.render import Fields, render, see_other
from bastide.worker import service as workers
from bastide.workspaces import jobs, query, usecases, viewing
from bastide.workspaces import saved as saved_queries
from bastide.workspaces import service as workspaces
from bastide.workspaces.schemas import JobOut, OutputOut, QueryOut, SavedOut, WorkspaceOut

router = APIRouter(include_in_schema=False, dependencies=[allows(Egress.WORKSPACE)])


@router.get("/workspaces", response_class=HTMLResponse)
def workspaces_page(request: Request, who: WorkspaceViewer):
    with _db(request) as session:
        rows = [WorkspaceOut.build(session, ws, _platform(request).settings)
                for ws in usecases.visible_workspaces(session, who.actor)]
    return render(request, "workspaces.html", {"workspaces": rows}, who=who)


def outputs_of(session, ws) -> tuple[list[OutputOut], list[OutputOut]]:
    """A workspace's outputs that may be asked for, and the disclosure evidence kept apart."""
    outputs = [OutputOut.build(o) for o in jobs.list_outputs(session, ws)]
    return [o for o in outputs if not is_evidence(o.name)], [o for o in outputs if is_evidence(o.name)]


def _workspace_page(request: Request, who: Principal, ws_id: int, *, sql: str = "", result=None, saved=None,
                    error: DomainError | None = None, kept_now: str | None = None, query_name: str = "",
                    opened: int | None = None) -> HTMLResponse:
    query.admit(_platform(request), actor=who.actor, ws_id=ws_id)
    with _db(request) as session:
        ws = workspaces.get_workspace(session, ws_id)
        outputs, evidence = outputs_of(session, ws)
        kept = saved_queries.list_saved(session, ws)
        sql = next((q.sql for q in kept if q.id == opened), sql)  # a kept query opened in the console
        context = {"ws": WorkspaceOut.build(session, ws, _platform(request).settings), "sql": sql, "result": result,
                   "error": error, "saved": saved, "outputs": outputs, "evidence": evidence,
                   "chart": chart.bars(result.columns, result.rows) if result else None,
                   "schema": usecases.schema_of(session, ws), "kept": kept,
                   "kept_now": kept_now, "query_name": query_name, "invalid": invalid_fields(error),
                   "history": query.recent_queries(session, actor=who.actor, ws=ws),
                   "jobs": [JobOut.build(j) for j in jobs.list_jobs(session, ws)],
                   "releases": [RequestOut.build(session, r, who.actor) for r in airlock.list_requests(session, ws=ws)],
                   "imports": [ImportOut.build(i) for i in imports.list_imports(session, ws=ws)]}
    return render(request, "workspace.html", context, who=who, status=error.http_status if error else 200)


@router.get("/workspaces/{ws_id}", response_class=HTMLResponse)
def workspace_page(request: Request, ws_id: int, who: Member, query_id: int | None = None):
    """The workspace; with `query_id`, a kept query opened in the console (not run)."""
    return _workspace_page(request, who, ws_id, opened=query_id)


@router.post("/workspaces/{ws_id}/queries/keep", response_class=HTMLResponse)
def keep_query(request: Request, ws_id: int, who: Member, fields: Fields):
    """Keep the console's query by name, for the project's persons (its text, not its result)."""
    sql, name = str(fields.get("sql", "")), str(fields.get("query_name", ""))
    query.admit(_platform(request), actor=who.actor, ws_id=ws_id)
    try:
        with _db(request) as session:
            saved_queries.keep(session, actor=who.actor, ws=workspaces.get_workspace(session, ws_id), name=name, sql=sql)
    except (InvalidInput, Conflict) as exc:
        return _workspace_page(request, who, ws_id, sql=sql, error=exc, query_name=name)
    return _workspace_page(request, who, ws_id, sql=sql, kept_now=name.strip())


@router.post("/workspaces/{ws_id}/queries/{query_id}/forget")
def forget_query(request: Request, ws_id: int, query_id: int, who: Member):
    query.admit(_platform(request), actor=who.actor, ws_id=ws_id)
    with _db(request) as session:
        saved_queries.forget(session, actor=who.actor, ws=workspaces.get_workspace(session, ws_id), query_id=query_id)
    return see_other(f"/workspaces/{ws_id}#kept")


@router.post("/workspaces/{ws_id}/query", response_class=HTMLResponse, dependencies=[allows(Egress.SCREEN_VIEW)])
def workspace_query(request: Request, ws_id: int, who: Member, fields: Fields):
    """The SQL console: the result (capped) or what was wrong, under the query."""
    sql, save = str(fields.get("sql", "")), str(fields.get("save", ""))
    try:
        if save:
            name, rows = query.save_result(_platform(request), actor=who.actor, ws_id=ws_id, sql=sql,
                                           name=str(fields.get("name", "result")), fmt=save)
            return _workspace_page(request, who, ws_id, sql=sql, saved=SavedOut(name=name, rows=rows))
        result = QueryOut.build(query.run_query(_platform(request), actor=who.actor, ws_id=ws_id, sql=sql))
    except query.QueryFailed as exc:
        return _workspace_page(request, who, ws_id, sql=sql, error=exc)
    return _workspace_page(request, who, ws_id, sql=sql, result=result)


@router.post("/workspaces/{ws_id}/jobs")
def submit_job(request: Request, ws_id: int, who: Member, fields: Fields):
    job_id = jobs.submit(_platform(request), actor=who.actor, ws_id=ws_id, name=str(fields.get("name", "job")),
                         kind=str(fields.get("kind", "")), script=str(fields.get("script", "")))
    return see_other(f"/workspaces/{ws_id}/jobs/{job_id}")


@router.get("/workspaces/{ws_id}/jobs/{job_id}", response_class=HTMLResponse, dependencies=[allows(Egress.SCREEN_VIEW)])
def job_page(request: Request, ws_id: int, job_id: int, who: Member):
    """The job's state and (capped) log, and its outputs, each viewable in the workspace."""
    platform = _platform(request)
    query.admit(platform, actor=who.actor, ws_id=ws_id)
    with _db(request) as session:
        job = JobOut.build(usecases.job_in(session, ws_id, job_id))
        outputs = [OutputOut.build(o) for o in jobs.list_outputs(session, workspaces.get_workspace(session, ws_id))
                   if o.job_id == job.id]
        waiting = None
        if job.status == "queued":  # taken by a worker: say whether one is there to take it
            waiting = "job_waiting" if workers.alive(session, since=platform.liveness.stale_before()) else "no_worker"
    return render(request, "job.html", {"ws_id": ws_id, "job": job, "outputs": outputs, "waiting": waiting}, who=who)


@router.get("/workspaces/{ws_id}/outputs/{output_id}", response_class=HTMLResponse,
            dependencies=[allows(Egress.SCREEN_VIEW)])
def output_page(request: Request, ws_id: int, output_id: int, who: Member):
    """An output's first lines (a screen view, counted and audited); it leaves through the airlock."""
    seen = viewing.view_output(_platform(request), actor=who.actor, ws_id=ws_id, output_id=output_id)
    return render(request, "output.html", {"ws_id": ws_id, "seen": seen}, who=who)

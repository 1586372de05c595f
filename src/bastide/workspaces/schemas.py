"""A workspace's read and write models, shared by the API and the pages."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from bastide.workspaces import service as workspaces
from bastide.workspaces.models import Workspace


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

    @classmethod
    def build(cls, result) -> QueryOut:
        return cls(columns=result.columns, rows=result.rows, row_count=result.row_count, truncated=result.truncated,
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

    @classmethod
    def build(cls, o) -> OutputOut:
        return cls(id=o.id, name=o.name, job=f"JOB-{o.job_id:06d}" if o.job_id else None, sha256=o.sha256,
                   size=o.size, provenance=o.provenance, created_at=o.created_at)


class SaveIn(BaseModel):
    sql: str
    name: str = "result"
    format: str = Field("csv", description="csv or parquet")


class SavedOut(BaseModel):
    name: str
    rows: int


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


class KeptQueryIn(BaseModel):
    name: str = Field(description="1 to 100 letters, digits, spaces or . - ( ) _; the same name replaces your own.")
    sql: str


class KeptQueryOut(BaseModel):
    """A query kept by name in the workspace (its text; running it is a query like any other)."""
    id: int
    name: str
    author: str
    sql: str
    created_at: datetime
    updated_at: datetime

    @classmethod
    def build(cls, q) -> KeptQueryOut:
        return cls(id=q.id, name=q.name, author=q.author, sql=q.sql, created_at=q.created_at, updated_at=q.updated_at)


class ColumnOut(BaseModel):
    name: str
    type: str
    description: str
    nomenclature: str


class ExtractTableOut(BaseModel):
    name: str
    rows: int
    link: str = Field(description="How the table meets the cohort (person, dcir_keys, stay_keys, visit_keys, idt, none).")
    columns: list[ColumnOut]

    @classmethod
    def build(cls, t) -> ExtractTableOut:
        return cls(name=t.name, rows=t.rows, link=t.link, columns=[ColumnOut(**c.__dict__) for c in t.columns])

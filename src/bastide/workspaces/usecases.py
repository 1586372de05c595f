"""What a person asks of the workspaces through either face, the API or the pages (issue 18,
item 12). Entry itself is `query.admit` (a refusal is committed to the audit trail, then raised),
called before the unit of work these functions run in."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from bastide.catalogue import service as catalogue
from bastide.errors import NotFound
from bastide.identity.policy import has_permission
from bastide.identity.roles import Permission
from bastide.statemachine import Actor
from bastide.workspaces import jobs, query
from bastide.workspaces import service as workspaces
from bastide.workspaces.models import Job, Workspace


def visible_workspaces(session: Session, actor: Actor) -> list[Workspace]:
    """A researcher sees the workspaces whose permit names them; the data operator sees all (no data)."""
    rows = workspaces.list_workspaces(session)
    if has_permission(actor, Permission.SNAPSHOT_INGEST):
        return rows
    return [ws for ws in rows if actor.id.removeprefix("user:") in query.members(ws)]


def job_in(session: Session, ws_id: int, job_id: int) -> Job:
    job = jobs.get_job(session, job_id)
    if job.workspace_id != ws_id:
        raise NotFound(f"no job {job_id} in this workspace")
    return job


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    description: str
    nomenclature: str


@dataclass(frozen=True)
class ExtractTable:
    """A table of the workspace's extract as a researcher browses it: its columns as extracted,
    each described by the release's dictionary (a pseudonymised identifier keeps its name)."""
    name: str
    rows: int
    link: str
    columns: list[Column]


def schema_of(session: Session, ws: Workspace) -> list[ExtractTable]:
    """The schema browser (issue 18, item 8): metadata only, no row of data."""
    row = workspaces.current_extract(session, ws)
    if row is None:
        return []
    try:
        snapshot = catalogue.get_snapshot(session, row.spec["snapshot"])
        described = {t.name: {v.name: v for v in t.variables} for t in snapshot.tables}
    except NotFound:  # the release was withdrawn since: the names still tell
        described = {}
    out = []
    for name, info in sorted(row.tables.items()):
        known = described.get(name, {})
        columns = [Column(c, known[c].type, known[c].description, known[c].nomenclature) if c in known
                   else Column(c, "", "", "") for c in info.get("columns") or ()]
        out.append(ExtractTable(name, int(info.get("rows", 0)), str(info.get("link", "")), columns))
    return out

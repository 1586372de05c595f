"""What a person asks of the workspaces through either face, the API or the pages (issue 18,
item 12). Entry itself is `query.admit` (a refusal is committed to the audit trail, then raised),
called before the unit of work these functions run in."""

from __future__ import annotations

from sqlalchemy.orm import Session

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

"""Ending the builds and jobs whose process ended before them (see bastide.liveness).

An extract left `building` is abandoned as a failed build is: its files deleted, the workspace
`failed` and saying why, so that the operator provisions it again (not automatically: a build
that kills its process would loop). A job left `queued` or `running` fails, its log saying to
submit it again. Run by the server's scheduled checks; a row this process holds is never
touched, whatever its stamp says."""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from bastide.db import utcnow
from bastide.errors import DomainError
from bastide.platform import Platform
from bastide.statemachine import SYSTEM
from bastide.workspaces.jobs import move
from bastide.workspaces.models import Extract, Job
from bastide.workspaces.service import abandon

UNFINISHED_JOB = ("queued", "running")
SCRATCH = re.compile(r"^job-(\d+)-[0-9a-f]+$")  # jobs.run's folder: job-<id>-<random>


class Interrupted(DomainError):
    code = "interrupted"


@dataclass(frozen=True)
class Recovered:
    extracts: list[str]  # "WS-000001 v2"
    jobs: list[str]  # "JOB-000003"
    scratch: list[str]  # the folders deleted


def _silent(model, stale: datetime, started):
    """Last stamped before `stale`; never stamped (rows from before heartbeats) counts from `started`."""
    return or_(model.heartbeat_at < stale, and_(model.heartbeat_at.is_(None), started < stale))


def recover(platform: Platform, *, now: datetime | None = None) -> Recovered:
    now = now or utcnow()
    stale, liveness = platform.liveness.stale_before(now), platform.liveness
    with platform.db.unit_of_work() as session:
        builds = [(row.workspace_id, row.id, f"{row.workspace.reference} v{row.version}") for row in session.execute(
            select(Extract).where(Extract.status == "building", _silent(Extract, stale, Extract.created_at))).scalars()
            if row.id not in liveness.held(Extract)]
    for ws_id, extract_id, _name in builds:
        abandon(platform, actor=SYSTEM, ws_id=ws_id, extract_id=extract_id, error=Interrupted(
            "the build was interrupted (the process running it ended: a restart or a crash); provision the "
            "workspace again"))
    with platform.db.unit_of_work() as session:
        jobs = _end_jobs(session, stale=stale, now=now, held=liveness.held(Job))
    with platform.db.unit_of_work() as session:
        scratch = _clear_scratch(session, platform.settings.resolved_work_dir / "jobs")
    return Recovered([name for _ws, _id, name in builds], jobs, scratch)


def _end_jobs(session: Session, *, stale: datetime, now: datetime, held: set[int]) -> list[str]:
    ended = []
    for job in session.execute(select(Job).where(Job.status.in_(UNFINISHED_JOB),
                                                  _silent(Job, stale, Job.created_at))).scalars():
        if job.id in held:
            continue
        was = "waiting for its turn" if job.status == "queued" else "running"
        job.log = (job.log or "") + (f"[ended: the process it was {was} in ended (a restart or a crash); "
                                     "submit it again]\n")
        job.finished_at = now
        move(session, job=job, action="fail")
        ended.append(job.reference)
    return ended


def _clear_scratch(session: Session, folder: Path) -> list[str]:
    """A job's scratch folder holds its extract decrypted (DuckDB workspaces): a process that
    ended mid-job leaves it behind. Deleted once its job has ended; a running job's is left."""
    found = {int(m.group(1)): p for p in (folder.iterdir() if folder.is_dir() else ())
             if (m := SCRATCH.match(p.name))}
    if not found:
        return []
    unfinished = set(session.execute(select(Job.id).where(Job.id.in_(sorted(found)),
                                                          Job.status.in_(UNFINISHED_JOB))).scalars())
    cleared = []
    for job_id, path in sorted(found.items()):
        if job_id not in unfinished:
            shutil.rmtree(path, ignore_errors=True)
            cleared.append(path.name)
    return cleared

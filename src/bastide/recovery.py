"""Ending the ingests, builds and jobs whose process ended before them (see bastide.liveness).

A snapshot left `staging` is rejected as a failed ingest is (its objects deleted; the next
ingest of that release starts clean); an extract left `building` is abandoned as a failed build
is (its files deleted, the workspace `failed` and saying why, so that the operator provisions
it again: not automatically, a build that kills its process would loop); a job left `running`
fails, its log saying to submit it again, and the decrypted extract an ended job left on this
node goes. Builds and jobs no process has claimed yet wait for a worker (bastide.queue). Run by
the workers' scheduled checks and by `bastide recover`; a row this process holds is never
touched, whatever its stamp says."""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from bastide.catalogue import service as catalogue
from bastide.catalogue.models import Snapshot
from bastide.db import utcnow
from bastide.errors import DomainError
from bastide.platform import Platform
from bastide.statemachine import SYSTEM
from bastide.workspaces.jobs import move
from bastide.workspaces.models import Extract, Job
from bastide.workspaces.service import abandon

UNFINISHED_JOB = ("queued", "running")
JOB_SCRATCH = re.compile(r"^job-(\d+)-[0-9a-f]+$")  # jobs.run's folder: job-<id>-<random>
ENDED_PROCESS = "the process running it ended: a restart or a crash"


class Interrupted(DomainError):
    code = "interrupted"


@dataclass(frozen=True)
class Recovered:
    snapshots: list[str]  # "snds@2024-12"
    extracts: list[str]  # "WS-000001 v2"
    jobs: list[str]  # "JOB-000003"
    scratch: list[str]  # the folders deleted

    def __bool__(self) -> bool:
        return bool(self.snapshots or self.extracts or self.jobs or self.scratch)


def _orphans(session: Session, model, statuses: tuple[str, ...], *, stale: datetime, held: set[int]) -> list:
    """Rows in `statuses` last stamped before `stale` (never stamped: created before it) that
    this process does not hold. A queued build or job nobody has claimed is not silent: it
    waits for a worker (bastide.queue)."""
    silent = or_(model.heartbeat_at < stale, and_(model.heartbeat_at.is_(None), model.created_at < stale))
    claimed = (model.claimed_by.is_not(None),) if hasattr(model, "claimed_by") else ()
    rows = session.execute(select(model).where(model.status.in_(statuses), silent, *claimed)).scalars()
    return [row for row in rows if row.id not in held]


def recover(platform: Platform, *, now: datetime | None = None) -> Recovered:
    now = now or utcnow()
    stale = platform.liveness.stale_before(now)
    snapshots = _end_ingests(platform, stale)
    extracts = _end_builds(platform, stale)
    with platform.db.unit_of_work() as session:
        jobs = _end_jobs(session, stale=stale, now=now, held=platform.liveness.held(Job))
    with platform.db.unit_of_work() as session:
        scratch = clear_scratch(session, platform.settings.resolved_work_dir)
    return Recovered(snapshots, extracts, jobs, scratch)


def _end_ingests(platform: Platform, stale: datetime) -> list[str]:
    ended = []
    with platform.db.unit_of_work() as session:
        for snapshot in _orphans(session, Snapshot, ("staging",), stale=stale, held=platform.liveness.held(Snapshot)):
            platform.store.delete_prefix(snapshot.prefix)
            catalogue.reject_snapshot(session, actor=SYSTEM, snapshot=snapshot, reason="interrupted",
                                      details={"why": ENDED_PROCESS})
            ended.append(snapshot.ref)
    return ended


def _end_builds(platform: Platform, stale: datetime) -> list[str]:
    with platform.db.unit_of_work() as session:
        builds = [(row.workspace_id, row.id, f"{row.workspace.reference} v{row.version}") for row in
                  _orphans(session, Extract, ("building",), stale=stale, held=platform.liveness.held(Extract))]
    for ws_id, extract_id, _name in builds:
        abandon(platform, actor=SYSTEM, ws_id=ws_id, extract_id=extract_id, error=Interrupted(
            f"the build was interrupted ({ENDED_PROCESS}); provision the workspace again"))
    return [name for _ws, _id, name in builds]


def _end_jobs(session: Session, *, stale: datetime, now: datetime, held: set[int]) -> list[str]:
    ended = []
    for job in _orphans(session, Job, ("running",), stale=stale, held=held):
        job.log = (job.log or "") + f"[ended: it was running and {ENDED_PROCESS}; submit it again]\n"
        job.finished_at = now
        move(session, job=job, action="fail")
        ended.append(job.reference)
    return ended


def clear_scratch(session: Session, work: Path) -> list[str]:
    """A job's scratch folder holds its extract decrypted (DuckDB workspaces): a process that
    ended mid-job leaves it in this node's BASTIDE_WORK_DIR. Deleted once its job has ended; a
    running job's, here or in another process, is left. (An ingest's folder is cleared by the
    next ingest of that release: before its snapshot is staged it has no row to tell.)"""
    jobs = {int(m.group(1)): p for p in (work / "jobs").glob("job-*") if (m := JOB_SCRATCH.match(p.name))}
    if not jobs:
        return []
    unfinished = set(session.execute(select(Job.id).where(Job.id.in_(sorted(jobs)),
                                                          Job.status.in_(UNFINISHED_JOB))).scalars())
    ended = [path for job_id, path in sorted(jobs.items()) if job_id not in unfinished]
    for path in ended:
        shutil.rmtree(path, ignore_errors=True)
    return [path.name for path in ended]

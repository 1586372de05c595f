"""A worker process: it takes builds and jobs from the queue the database holds and runs the
scheduled checks (issue 17, RES-*: no single process whose loss stops the platform).

Any number of workers run at once, on any nodes sharing the database and the store: each build
or job is taken by one of them (bastide.queue), the scheduled checks by one at a time (a lease).
A worker that dies mid-task stops stamping what it holds; the next round of checks — another
worker's — ends it cleanly (bastide.recovery: the build abandoned, the job failed, saying why),
and takes the checks over once its lease expires."""

from __future__ import annotations

import logging
import os
import socket
import threading
from dataclasses import dataclass, field
from typing import NamedTuple

from sqlalchemy import func, select

import bastide.models  # noqa: F401 - every model mapped: a job or build reads rows of any domain
from bastide import queue
from bastide.audit.actions import AuditAction
from bastide.audit.service import record
from bastide.db import utcnow
from bastide.errors import DomainError
from bastide.liveness import STALE_BEATS
from bastide.platform import Platform
from bastide.statemachine import SYSTEM
from bastide.notices import service as notices
from bastide.worker import checks, lease
from bastide.worker.models import WorkerProcess
from bastide.workspaces import jobs
from bastide.workspaces import service as workspaces
from bastide.workspaces.models import Extract, Job

LOG = logging.getLogger(__name__)


@dataclass
class Worker:
    platform: Platform
    slots: int = 2  # builds and jobs run at once; builds only in the first (a build uses the node's memory)
    name: str = field(default_factory=lambda: queue.process_name("worker"))
    stopping: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        """Take work until `stopping` is set, then let what runs finish and stop."""
        row_id = self._register()
        threads = [threading.Thread(target=self._slot, args=(i == 0,), name=f"bastide-worker-{i}", daemon=True)
                   for i in range(self.slots)]
        try:
            for thread in threads:
                thread.start()
            while True:
                self.checks_round()
                if self.stopping.wait(self.platform.settings.permit_check_seconds):
                    break
            for thread in threads:
                thread.join()
        finally:
            self._unregister(row_id, cleanly=not any(t.is_alive() for t in threads))

    def work_once(self, *, builds: bool = True) -> bool:
        """Mail one notice due, or else take one build (if `builds`) or one job and run it to its end;
        whether there was one. Notices first: a mail takes a moment, a job may take hours."""
        return self.take_notice() or (builds and self.take_build()) or self.take_job()

    def take_notice(self) -> bool:
        notice_id = self._claimed(notices.claim)
        if notice_id is None:
            return False
        notices.deliver(self.platform, notice_id)  # a failure is recorded on it and tried again later
        return True

    def _slot(self, builds: bool) -> None:
        while not self.stopping.is_set():
            try:
                busy = self.work_once(builds=builds)
            except Exception:  # noqa: BLE001 - the database or the store away: wait, then try again
                LOG.exception("worker %s could not take work", self.name)
                busy = False
            if not busy:
                self.stopping.wait(self.platform.settings.worker_poll_seconds)

    def checks_round(self) -> None:
        try:
            checks.tidy(self.platform)
            if self._holds_checks():
                checks.scheduled(self.platform)
        except Exception:  # noqa: BLE001 - the next round retries; the failure is logged
            LOG.exception("the scheduled checks failed in worker %s", self.name)

    def _holds_checks(self) -> bool:
        settings = self.platform.settings
        seconds = STALE_BEATS * max(settings.heartbeat_seconds, settings.permit_check_seconds)
        with self.platform.db.unit_of_work() as session:
            return lease.hold(session, name=lease.CHECKS, holder=self.name, seconds=seconds)

    def _claimed(self, claim) -> int | None:
        """The id of the row `claim` took for this worker (committed), or None when none waits."""
        with self.platform.db.unit_of_work() as session:
            row = claim(session, by=self.name)
            return row.id if row is not None else None

    def take_build(self) -> bool:
        extract_id = self._claimed(workspaces.claim_build)
        if extract_id is None:
            return False
        try:
            workspaces.build(self.platform, extract_id=extract_id)
        except DomainError as exc:  # recorded on the workspace (failed), which says why
            LOG.warning("worker %s: build of extract %s failed: %s", self.name, extract_id, exc.message)
        except Exception:  # noqa: BLE001 - abandoned and recorded by build; its details are the operators'
            LOG.exception("worker %s: build of extract %s failed", self.name, extract_id)
        return True

    def take_job(self) -> bool:
        job_id = self._claimed(jobs.claim)
        if job_id is None:
            return False
        jobs.execute(self.platform, job_id=job_id)  # its failures are its outcome, recorded on it
        return True

    def _register(self) -> int:
        with self.platform.db.unit_of_work() as session:
            row = WorkerProcess(name=self.name, host=socket.gethostname(), pid=os.getpid(), slots=self.slots,
                                started_at=utcnow())
            session.add(row)
            session.flush()
            record(session, actor=SYSTEM, action=AuditAction.WORKER_START, target=f"worker:{self.name}",
                   details={"slots": self.slots})
            row_id = row.id
        self.platform.liveness.hold(WorkerProcess, row_id)
        return row_id

    def _unregister(self, row_id: int, *, cleanly: bool) -> None:
        self.platform.liveness.release(WorkerProcess, row_id)
        if not cleanly:  # a task is still running: its rows stay held until it ends or this process does
            return
        with self.platform.db.unit_of_work() as session:
            session.get(WorkerProcess, row_id).stopped_at = utcnow()
            lease.release(session, name=lease.CHECKS, holder=self.name)
            record(session, actor=SYSTEM, action=AuditAction.WORKER_STOP, target=f"worker:{self.name}")


class Drained(NamedTuple):
    builds: int
    jobs: int
    notices: int = 0  # tried (sent, or put off after a failure)


def drain(platform: Platform, *, checks_first: bool = True) -> Drained:
    """Run the scheduled checks once (unless another worker holds them), then every build and job
    waiting, in this process, and return: `bastide worker --once`, for a platform run from cron."""
    worker = Worker(platform, slots=1)
    if checks_first:
        worker.checks_round()
    builds = done_jobs = mailed = 0
    while worker.take_build():
        builds += 1
    while worker.take_job():
        done_jobs += 1
    while worker.take_notice():  # a notice that fails waits for a later try: the loop ends
        mailed += 1
    with platform.db.unit_of_work() as session:  # the workers that stay need not wait for it to expire
        lease.release(session, name=lease.CHECKS, holder=worker.name)
    return Drained(builds, done_jobs, mailed)


@dataclass(frozen=True)
class Queue:
    builds_waiting: int
    builds_running: int
    jobs_waiting: int
    jobs_running: int
    notices_waiting: int = 0
    notices_given_up: int = 0


def queue_of(session) -> Queue:
    def count(model, status: str, claimed: bool) -> int:
        where = model.claimed_by.is_not(None) if claimed else model.claimed_by.is_(None)
        return session.execute(select(func.count()).select_from(model).where(model.status == status, where)).scalar_one()

    mail = notices.counts(session)
    return Queue(count(Extract, "building", False), count(Extract, "building", True),
                 count(Job, "queued", False), count(Job, "running", True), mail["waiting"], mail["given_up"])


def workers(session, *, alive_since=None) -> list[WorkerProcess]:
    """The workers that have not stopped cleanly, newest first (alive: stamped since `alive_since`)."""
    query = select(WorkerProcess).where(WorkerProcess.stopped_at.is_(None)).order_by(WorkerProcess.id.desc())
    if alive_since is not None:
        query = query.where(WorkerProcess.heartbeat_at >= alive_since)
    return list(session.execute(query).scalars())


def alive(session, *, since) -> int:
    """How many workers have stamped their row since `since` (see Liveness.stale_before)."""
    return len(workers(session, alive_since=since))

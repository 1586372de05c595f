"""Issue 17 item 6 (RES-01, RES-03: no single process whose loss stops the platform). `bastide
worker` processes share the queue, beside two API servers that only record jobs; one worker is
killed (SIGKILL) mid-job and another mid-build, and the others end what the dead ones held,
cleanly and saying why, then go on with the queue — each task run by exactly one worker — on
SQLite + local files and on PostgreSQL + S3."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
from sqlalchemy import select

from bastide.audit import service as audit
from bastide.audit.models import AuditEvent
from bastide.governance import permits
from bastide.identity import credentials
from bastide.identity import service as identity
from bastide.platform import operator_actor
from bastide.workspaces import jobs
from bastide.workspaces import service as workspaces
from bastide.workspaces.client import post_json
from bastide.workspaces.models import Extract
from tests.services import free_ports, settings_env, wait_port

pytestmark = pytest.mark.slow
BEATS = {"heartbeat_seconds": 1, "permit_check_seconds": 1, "worker_poll_seconds": 0.05}


class Workers:
    """`bastide worker` processes on the test's platform, by name (the name each claims with)."""

    def __init__(self, platform, log_dir):
        self.platform, self.log_dir = platform, log_dir
        self.env = {**os.environ, **settings_env(platform.settings, **BEATS)}
        self.processes: list[subprocess.Popen] = []  # the workers
        self.servers: list[subprocess.Popen] = []  # the API servers

    def start(self) -> subprocess.Popen:
        process = self._bastide("worker")
        self.processes.append(process)
        return process

    def apis(self, count: int) -> list[str]:
        """API servers of their own (`bastide up --no-worker`), started together: they only record
        jobs; their addresses."""
        ports = free_ports(count)
        started = [self._bastide("up", "--no-worker", "--no-sample", "--port", str(port)) for port in ports]
        self.servers += started
        for port, process in zip(ports, started, strict=True):
            wait_port(port, timeout=60, alive=process)
        return [f"http://127.0.0.1:{port}" for port in ports]

    def _bastide(self, *args: str) -> subprocess.Popen:
        with open(self.log_dir / f"{args[0]}-{len(self.processes) + len(self.servers)}.log", "w") as log:
            return subprocess.Popen([sys.executable, "-m", "bastide.cli", *args], env=self.env, stdout=log,
                                    stderr=subprocess.STDOUT)  # the child keeps its own copy of the log file

    def of(self, claimed_by: str) -> subprocess.Popen:
        """The process that claims as `claimed_by` (worker@host:PID:random)."""
        pid = int(claimed_by.split(":")[1])
        return next(p for p in self.processes if p.pid == pid)

    def stop(self) -> None:
        for process in self.processes + self.servers:
            if process.poll() is None:
                process.terminate()
        for process in self.processes + self.servers:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()


def _until(check, seconds: float = 60, every: float = 0.01):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(every)
    raise AssertionError(f"not within {seconds} s")


def test_workers_killed_mid_job_and_mid_build_lose_nothing_and_run_each_task_once(ready, tmp_path):
    platform, p, permit_id, ws_id, _done = ready
    workers = Workers(platform, tmp_path)
    try:
        _killed_mid_job(platform, p, ws_id, workers)
        _each_job_once(platform, p, ws_id, workers)
        _killed_mid_build(platform, p, permit_id, workers)
    finally:
        workers.stop()
    with platform.db.unit_of_work() as s:  # three started, two killed; the survivor stopped cleanly when asked
        events = list(s.execute(select(AuditEvent.action).where(AuditEvent.action.like("worker:%"))).scalars())
    assert events.count("worker:start") == 3 and events.count("worker:stop") == 1, events


def _job_of(platform, job_id):
    with platform.db.unit_of_work() as s:
        return jobs.get_job(s, job_id)


def _killed_mid_job(platform, p, ws_id, workers) -> None:
    """The only worker is killed while its job runs; two more start: one of them ends the job."""
    long = jobs.submit(platform, actor=p["alice"], ws_id=ws_id, name="long", kind="python",
                       script="import time\nprint('started', flush=True)\ntime.sleep(300)\n")
    first = workers.start()
    job = _until(lambda: (j := _job_of(platform, long)).status == "running" and j)
    assert workers.of(job.claimed_by) is first
    scratch = platform.settings.resolved_work_dir / "jobs"
    _until(lambda: list(scratch.glob(f"job-{long}-*")))  # its extract, staged on this node
    first.send_signal(signal.SIGKILL)
    first.wait()
    workers.start(), workers.start()
    ended = _until(lambda: (j := _job_of(platform, long)).status != "running" and j, seconds=30, every=0.2)
    assert ended.status == "failed" and "submit it again" in ended.log, ended.log
    _until(lambda: not list(scratch.glob(f"job-{long}-*")), seconds=15, every=0.2)  # its scratch went with it


def _each_job_once(platform, p, ws_id, workers) -> None:
    """Two API servers record six jobs (they run none); the two live workers run each once."""
    with platform.db.unit_of_work() as s:
        alice = identity.get_user(s, "alice@labo.example")
        alice.mfa_confirmed = True
        identity.accept_terms(s, user=alice, version=platform.settings.terms_version)
        _, token = credentials.create_token(s, user=alice, name="jobs", scopes=["workspace:enter"], days=1)
    apis = workers.apis(2)
    submitted = [post_json(f"{apis[i % 2]}/api/workspaces/{ws_id}/jobs", {
        "name": f"n{i}", "kind": "sql", "script": f"SELECT {i} AS i, count(*) AS n FROM IR_BEN_R"}, token=token)["id"]
        for i in range(6)]

    def all_ended():
        now = [_job_of(platform, n) for n in submitted]
        return all(j.status not in ("queued", "running") for j in now) and now

    finished = _until(all_ended, seconds=120, every=0.2)
    alive = {process.pid for process in workers.processes if process.poll() is None}
    with platform.db.unit_of_work() as s:
        for job in finished:
            assert job.status == "succeeded" and job.log.startswith("i,n\n"), job.log
            assert int(job.claimed_by.split(":")[1]) in alive
            starts = [e for e in audit.history(s, targets=[f"job:{job.reference}"]) if e.action == "job:start"]
            assert len(starts) == 1


def _killed_mid_build(platform, p, permit_id, workers) -> None:
    """A worker is killed while it builds the amended permit's extract: another abandons the build
    (files deleted, the workspace failed, saying why); queued again, a live worker builds it."""
    with platform.db.unit_of_work() as s:
        amended = permits.amend(s, actor=p["ines"], permit=permits.get_permit(s, permit_id), signer=platform.signer,
                                changes={"tools": "R"}, reason="tools").id
    with platform.db.unit_of_work() as s:
        extract_id = workspaces.request_provision(s, keys=platform.keys, actor=operator_actor(), permit_id=amended)

    def claimed():
        with platform.db.unit_of_work() as s:
            return s.get(Extract, extract_id).claimed_by

    builder = workers.of(_until(claimed, every=0.002))
    builder.send_signal(signal.SIGKILL)
    builder.wait()
    with platform.db.unit_of_work() as s:
        row = s.get(Extract, extract_id)
        assert row.status == "building", "the build ended before its worker was killed: kill it sooner"
        prefix = row.prefix

    def ended():
        with platform.db.unit_of_work() as s:
            row = s.get(Extract, extract_id)
            return row.status != "building" and (row.status, row.error, row.workspace.status)

    status, error, ws_status = _until(ended, seconds=30, every=0.2)
    assert (status, ws_status) == ("failed", "failed") and "provision the workspace again" in error
    assert platform.store.list(prefix) == []  # nothing half-written stays
    with platform.db.unit_of_work() as s:  # the operator queues it again; a live worker builds it
        again = workspaces.request_provision(s, keys=platform.keys, actor=operator_actor(), permit_id=amended)

    def built():
        with platform.db.unit_of_work() as s:
            row = s.get(Extract, again)
            return row.status != "building" and (row.status, row.workspace.status, row.claimed_by)

    status, ws_status, by = _until(built, seconds=60, every=0.2)
    assert (status, ws_status) == ("ready", "ready") and workers.of(by).poll() is None

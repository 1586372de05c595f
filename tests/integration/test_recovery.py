"""What a process leaves when it ends mid-work (a restart, a crash, kill -9): an extract
`building` with half its files, a job `running`, a job's decrypted scratch folder. The workers'
checks end them once nobody has stamped them for four heartbeats (bastide.liveness), never touch
what a live process holds, and leave what no process has claimed yet to the workers (RES-*). A failure of the platform's own during a job ends the
job `failed`, saying why, instead of leaving it `running`."""

from __future__ import annotations

import time
from datetime import timedelta

from bastide.audit import service as audit
from bastide.db import utcnow
from bastide.governance import permits
from bastide.liveness import STALE_BEATS, Liveness
from bastide.platform import operator_actor
from bastide import recovery
from bastide.workspaces import jobs
from bastide.workspaces import service as workspaces
from bastide.workspaces.models import Extract, Job
from tests.integration.test_permit_lifecycle import _granted
from tests.workspace_fixtures import NAMED


def _later(platform, beats: int = STALE_BEATS + 1):
    return utcnow() + timedelta(seconds=platform.settings.heartbeat_seconds * beats)


def test_a_build_whose_process_ended_is_abandoned_and_the_workspace_provisions_again(world):
    platform, p = world
    permit_id = _granted(platform, p, NAMED)
    with platform.db.unit_of_work() as s:  # queued for a worker
        ws_id, extract_id = workspaces._start(s, keys=platform.keys, actor=operator_actor(),
                                              permit=permits.get_permit(s, permit_id))
        prefix = s.get(Extract, extract_id).prefix
    assert recovery.recover(platform, now=_later(platform)).extracts == []  # nobody took it: it waits
    with platform.db.unit_of_work() as s:  # a worker takes it, writes half a file, then its process ends
        assert workspaces.claim_build(s, by="worker@gone").id == extract_id
    platform.store.put_bytes(f"{prefix}/IR_BEN_R/part-0.parquet", b"half a file")

    assert recovery.recover(platform).extracts == []  # silent for less than four beats: it may be working
    with platform.liveness.holding(Extract, extract_id):  # a process holds it: never touched
        assert recovery.recover(platform, now=_later(platform)).extracts == []
    assert recovery.recover(platform, now=_later(platform)).extracts == ["WS-000001 v1"]

    with platform.db.unit_of_work() as s:
        row, ws = s.get(Extract, extract_id), workspaces.get_workspace(s, ws_id)
        assert (row.status, ws.status) == ("failed", "failed")
        assert "interrupted" in row.error and "provision the workspace again" in row.error
        actions = [e.action for e in audit.history(s, targets=[workspaces.target(ws)])]
        assert actions[-1] == "workspace:fail"
    assert platform.store.list(prefix) == []  # nothing half-written stays
    done = workspaces.provision(platform, actor=operator_actor(), permit_id=permit_id)
    assert done.version == 2 and done.rows > 0


def test_a_process_stamps_what_it_holds_until_it_lets_go(world):
    platform, p = world
    permit_id = _granted(platform, p, NAMED)
    with platform.db.unit_of_work() as s:
        _ws_id, extract_id = workspaces._start(s, keys=platform.keys, actor=operator_actor(),
                                               permit=permits.get_permit(s, permit_id))
    beating = Liveness(platform.db, seconds=1)
    stamps = []
    try:
        with beating.holding(Extract, extract_id):
            for _ in range(3):
                time.sleep(1.2)
                with platform.db.unit_of_work() as s:
                    stamps.append(s.get(Extract, extract_id).heartbeat_at)
        time.sleep(1.2)
        with platform.db.unit_of_work() as s:
            after = s.get(Extract, extract_id).heartbeat_at
    finally:
        beating.stop()
    assert stamps[0] < stamps[1] < stamps[2]  # stamped every second while held
    assert after - stamps[2] < timedelta(seconds=1.1)  # at most the beat in flight when it let go


def test_jobs_whose_process_ended_fail_and_their_scratch_goes(ready, monkeypatch):
    platform, p, _permit_id, ws_id, _done = ready
    submit = lambda: jobs.submit(platform, actor=p["alice"], ws_id=ws_id, name="t", kind="sql",  # noqa: E731
                                 script="SELECT 1")
    waiting, started, alive = submit(), submit(), submit()
    with platform.db.unit_of_work() as s:  # taken by a worker whose process then ended
        jobs.claim(s, by="worker@gone", job_id=started)
    with platform.db.unit_of_work() as s:  # taken by this process, which is alive
        jobs.claim(s, by="worker@here", job_id=alive)
    platform.liveness.hold(Job, alive)
    scratch = platform.settings.resolved_work_dir / "jobs"
    for job_id in (started, alive):
        (scratch / f"job-{job_id}-0a1b2c3d" / "data").mkdir(parents=True)
        (scratch / f"job-{job_id}-0a1b2c3d" / "data" / "IR_BEN_R.parquet").write_bytes(b"decrypted rows")

    recovered = recovery.recover(platform, now=_later(platform))
    assert recovered.jobs == [f"JOB-{started:06d}"]  # `alive` is held here; `waiting`, nobody took yet
    assert not (scratch / f"job-{started}-0a1b2c3d").exists() and (scratch / f"job-{alive}-0a1b2c3d").exists()
    with platform.db.unit_of_work() as s:
        job = jobs.get_job(s, started)
        assert job.status == "failed" and "submit it again" in job.log, job.log
        assert audit.history(s, targets=[f"job:{job.reference}"])[-1].action == "job:fail"
        assert [jobs.get_job(s, n).status for n in (waiting, alive)] == ["queued", "running"]

    monkeypatch.setenv("PATH", "/nonexistent")  # no bubblewrap: the platform cannot run the job
    job = jobs.run(platform, job_id=waiting)
    assert job.status == "failed" and "bubblewrap is missing" in job.log, job.log
    platform.liveness.release(Job, alive)
    assert recovery.recover(platform, now=_later(platform)).scratch == [f"job-{alive}-0a1b2c3d"]

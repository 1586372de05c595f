"""The queue (issue 17 item 6, RES-*): builds and jobs are rows that processes claim; of any
number of processes racing for them, each row goes to exactly one (bastide.queue) — on SQLite
and on PostgreSQL. One process at a time holds the scheduled checks (a lease), and another takes
them over once its holder stops renewing."""

from __future__ import annotations

import threading
from datetime import timedelta

from bastide.audit import service as audit
from bastide.db import utcnow
from bastide.governance import permits
from bastide.platform import operator_actor
from bastide.worker import lease
from bastide.worker.service import drain, queue_of
from bastide.workspaces import jobs
from bastide.workspaces import service as workspaces
from tests.integration.test_permit_lifecycle import _granted
from tests.unit.test_application_form import FULL
from tests.workspace_fixtures import NAMED

RACERS = 6


def _race(platform, take) -> list[list[int]]:
    """Every racer takes rows until none is left, all starting at once; what each took."""
    start, taken = threading.Barrier(RACERS), [[] for _ in range(RACERS)]

    def racer(i: int) -> None:
        start.wait()
        while True:
            with platform.db.unit_of_work() as s:
                row = take(s, f"racer-{i}")
                row_id = row.id if row is not None else None
            if row_id is None:
                return
            taken[i].append(row_id)

    threads = [threading.Thread(target=racer, args=(i,)) for i in range(RACERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return taken


def test_racing_processes_never_take_the_same_job(ready):
    platform, p, _permit_id, ws_id, _done = ready
    submitted = [jobs.submit(platform, actor=p["alice"], ws_id=ws_id, name=f"j{i}", kind="sql", script="SELECT 1")
                 for i in range(24)]
    taken = _race(platform, lambda s, by: jobs.claim(s, by=by))
    flat = [job_id for each in taken for job_id in each]
    assert sorted(flat) == submitted  # every job taken, none twice
    with platform.db.unit_of_work() as s:
        for i, each in enumerate(taken):
            for job_id in each:
                job = jobs.get_job(s, job_id)
                assert (job.status, job.claimed_by) == ("running", f"racer-{i}")
                started = [e for e in audit.history(s, targets=[f"job:{job.reference}"]) if e.action == "job:start"]
                assert len(started) == 1 and started[0].details["worker"] == f"racer-{i}"
        assert queue_of(s).jobs_waiting == 0 and queue_of(s).jobs_running == 24
        assert jobs.claim(s, by="late") is None


def test_racing_processes_never_take_the_same_build(world):
    platform, p = world
    permit_ids = [_granted(platform, p, NAMED)]
    with platform.db.unit_of_work() as s:  # an amended version, and a second project
        permit_ids.append(permits.amend(s, actor=p["ines"], permit=permits.get_permit(s, permit_ids[0]),
                                        signer=platform.signer, changes={"tools": "R"}, reason="tools").id)
    permit_ids.append(_granted(platform, p, {**FULL, "persons": ["alice@labo.example"], "data": NAMED["data"]}))
    with platform.db.unit_of_work() as s:
        queued = [workspaces.request_provision(s, keys=platform.keys, actor=operator_actor(), permit_id=i)
                  for i in permit_ids[1:]]
    taken = _race(platform, lambda s, by: workspaces.claim_build(s, by=by))
    assert sorted(x for each in taken for x in each) == sorted(queued)
    with platform.db.unit_of_work() as s:
        builds = [e for e in audit.history(s, targets=["workspace:WS-000001", "workspace:WS-000002"])
                  if e.action == "workspace:build"]
        assert sorted(e.details["worker"] for e in builds) == sorted(f"racer-{i}" for i, each in enumerate(taken)
                                                                   for _ in each)
        assert queue_of(s).builds_waiting == 0 and queue_of(s).builds_running == 2


def test_the_command_line_claims_the_build_it_records(world):
    """`bastide ws provision` builds in its own process: claimed as it is recorded, so that no
    worker takes it meanwhile, and a worker finds nothing to build."""
    platform, p = world
    done = workspaces.provision(platform, actor=operator_actor(), permit_id=_granted(platform, p, NAMED))
    assert done.version == 1
    assert drain(platform, checks_first=False)[:2] == (0, 0)
    with platform.db.unit_of_work() as s:
        (build,) = [e for e in audit.history(s, targets=["workspace:WS-000001"]) if e.action == "workspace:build"]
        assert build.details["worker"].startswith("cli@")


def test_one_process_at_a_time_holds_the_scheduled_checks(platform):
    def hold(holder: str, **kw) -> bool:
        with platform.db.unit_of_work() as s:
            return lease.hold(s, name=lease.CHECKS, holder=holder, seconds=10, **kw)

    assert hold("a") and not hold("b") and hold("a")  # taken, refused to another, renewed
    later = utcnow() + timedelta(seconds=11)
    assert hold("b", now=later) and not hold("a", now=later)  # a stopped renewing: b takes over
    with platform.db.unit_of_work() as s:
        lease.release(s, name=lease.CHECKS, holder="b")
    assert hold("c")  # released: taken at once
    with platform.db.unit_of_work() as s:
        changes = [(e.details["holder"], e.details.get("after")) for e in audit.history(s, targets=["lease:" + lease.CHECKS])]
    assert changes == [("a", None), ("b", "a"), ("c", "b")]  # who held it when, in the trail; renewals are not


def test_racing_processes_take_an_expired_lease_once(platform):
    with platform.db.unit_of_work() as s:
        lease.hold(s, name=lease.CHECKS, holder="gone", seconds=-1)  # already expired
    start, won = threading.Barrier(RACERS), []

    def racer(i: int) -> None:
        start.wait()
        with platform.db.unit_of_work() as s:
            if lease.hold(s, name=lease.CHECKS, holder=f"racer-{i}", seconds=30):
                won.append(i)

    threads = [threading.Thread(target=racer, args=(i,)) for i in range(RACERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(won) == 1

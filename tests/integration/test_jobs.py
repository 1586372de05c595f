"""Sandboxed jobs (SPE-10): a researcher's script runs on the extract and its outputs are
registered; escape attempts fail: network, files outside the extract, writing outside the
outputs, another workspace, memory, time. Needs bubblewrap (`./dev test` installs it)."""

from __future__ import annotations

import re
import threading
import time

import pytest

from bastide.server import create_app
from bastide.audit import service as audit
from bastide.governance import permits
from bastide.identity import service as identity
from bastide.identity.policy import Forbidden
from bastide.statemachine import SYSTEM
from bastide.worker.service import drain
from bastide.workspaces import jobs
from bastide.workspaces import service as workspaces
from tests.portal import session_client



def _run(platform, actor, ws_id, script, kind="python"):
    return jobs.run(platform, job_id=jobs.submit(platform, actor=actor, ws_id=ws_id, name="t", kind=kind, script=script))


SANDBOX_ONLY = pytest.mark.parametrize("deployment_kind", ["sqlite+local"], indirect=True)  # the deployment is irrelevant

ANALYSIS = """
from bastide import workspace
import pandas, polars, statsmodels.api, matplotlib.pyplot as plt
ben = workspace.table("IR_BEN_R").to_pandas()
counts = ben.groupby("BEN_SEX_COD").size()
counts.to_csv("counts.csv")
plt.bar(counts.index.astype(str), counts.values); plt.savefig("counts.png")
print("persons", len(ben), "tables", workspace.tables())
print(workspace.duckdb().sql("SELECT count(*) FROM ER_PRS_F").fetchall())
print("events", workspace.view("events").column_names)
"""


def test_a_job_runs_with_the_analysis_stack_and_its_outputs_are_registered(ready):
    platform, p, _permit_id, ws_id, done = ready
    job = _run(platform, p["alice"], ws_id, ANALYSIS)
    assert job.status == "succeeded", job.log
    assert f"persons {done.tables['IR_BEN_R']['rows']}" in job.log and "['ER_PRS_F', 'IR_BEN_R']" in job.log
    assert "events ['person', 'category', 'group_id', 'value', 'weight', 'start', 'end']" in job.log  # the layer
    with platform.db.unit_of_work() as s:
        outputs = jobs.list_outputs(s, workspaces.get_workspace(s, ws_id))
        assert sorted(o.name for o in outputs) == ["counts.csv", "counts.png"]
        csv = next(o for o in outputs if o.name == "counts.csv")
        assert jobs.read_output(s, platform, csv).startswith(b"BEN_SEX_COD")
        assert csv.provenance["job"] == job.reference and csv.provenance["snapshot"] == "snds@2024-12"
        assert csv.provenance["script_sha256"] == job.script_sha256 and csv.provenance["extract"] == 1
    sql = _run(platform, p["alice"], ws_id, "SELECT BEN_SEX_COD, count(*) AS n FROM IR_BEN_R GROUP BY 1", kind="sql")
    assert sql.status == "succeeded" and "BEN_SEX_COD,n" in sql.log


ESCAPES = {
    "network": "import socket; socket.create_connection(('127.0.0.1', 5432), timeout=2)",
    "dns": "import socket; socket.getaddrinfo('pypi.org', 443)",
    "file outside the extract": "print(open('/etc/shadow').read())",
    "the platform's home": "import os; print(os.listdir('{home}'))",
    "writing into the extract": "open('/data/IR_BEN_R.parquet', 'ab').write(b'x')",
    "writing outside the outputs": "open('/usr/evil', 'w').write('x')",
    "another workspace": "print(open('{other}').read())",
    "privileges": "import os; os.setuid(0)",
}


@SANDBOX_ONLY
def test_escape_attempts_fail(ready):
    platform, p, _permit_id, ws_id, done = ready  # one workspace for every attempt (each is a job of its own)
    other = platform.store.path(f"workspaces/{done.workspace}/extract/v1/EXTRACT.json")  # a path on this server
    for attempt in sorted(ESCAPES):
        script = "print('inside', flush=True)\n" + ESCAPES[attempt].format(home=platform.settings.home, other=other)
        job = _run(platform, p["alice"], ws_id, script)
        assert job.log.startswith("inside"), (attempt, job.log)  # the script did run: the failure is the sandbox's
        assert job.status == "failed" and job.exit_code != 0, (attempt, job.log)
        assert any(word in job.log for word in ("Error", "error", "denied")), (attempt, job.log)


@SANDBOX_ONLY
def test_memory_and_time_limits_stop_a_job(ready):
    platform, p, _permit_id, ws_id, _done = ready
    platform.settings.job_memory_limit = "1GB"
    hog = _run(platform, p["alice"], ws_id, "x = bytearray(3 * 10**9)")
    assert hog.status == "failed" and "MemoryError" in hog.log
    platform.settings.job_seconds = 2
    began = time.monotonic()
    slow = _run(platform, p["alice"], ws_id, "import time; time.sleep(60)")
    assert slow.status == "killed" and time.monotonic() - began < 20 and "stopped after 2 s" in slow.log


@SANDBOX_ONLY
def test_outsiders_cannot_submit_and_a_lock_kills_running_jobs(ready):
    platform, p, permit_id, ws_id, _done = ready
    with pytest.raises(Forbidden):
        jobs.submit(platform, actor=p["bob"], ws_id=ws_id, name="x", kind="python", script="print(1)")
    job_id = jobs.submit(platform, actor=p["alice"], ws_id=ws_id, name="long", kind="python",
                         script="import time; time.sleep(60)")
    result = {}
    runner = threading.Thread(target=lambda: result.setdefault("job", jobs.run(platform, job_id=job_id)))
    runner.start()
    time.sleep(2)
    with platform.db.unit_of_work() as s:
        permits.revoke(s, actor=p["ines"], permit=permits.get_permit(s, permit_id), reason="breach")
    with platform.db.unit_of_work() as s:  # another node's check locks it: the job is not that node's
        workspaces.move(s, actor=SYSTEM, ws=workspaces.get_workspace(s, ws_id), action="lock", reason="revoked")
    assert runner.is_alive()
    with platform.db.unit_of_work() as s:  # this node's check: nothing left to lock, its own job to stop
        assert workspaces.lock_ended(s) == []
    runner.join(timeout=20)
    assert result["job"].status == "killed" and "locked" in result["job"].log
    with platform.db.unit_of_work() as s:
        actions = [e.action for e in audit.list_events(s, target=f"job:{result['job'].reference}")]
    assert actions[0] == "job:kill"


@SANDBOX_ONLY
def test_jobs_through_the_api_and_the_pages(ready):
    platform, p, _permit_id, ws_id, _done = ready
    app = create_app(platform)
    with platform.db.unit_of_work() as s:
        alice = session_client(app, platform, identity.get_user(s, "alice@labo.example").id)
    queued = alice.post(f"/api/workspaces/{ws_id}/jobs", json={"name": "comptes", "kind": "sql",
                                                               "script": "SELECT count(*) AS n FROM IR_BEN_R"})
    assert queued.status_code == 202 and queued.json()["status"] == "queued"
    assert alice.get(f"/api/workspaces/{ws_id}/jobs/{queued.json()['id']}").json()["status"] == "queued"
    assert drain(platform, checks_first=False)[:2] == (0, 1)  # the API ran nothing: a worker does
    finished = alice.get(f"/api/workspaces/{ws_id}/jobs/{queued.json()['id']}").json()
    assert finished["status"] == "succeeded" and finished["log"].startswith("n\n")
    assert finished["script"] == "SELECT count(*) AS n FROM IR_BEN_R"  # issue 18: the job's own script, shown
    assert [o["name"] for o in alice.get(f"/api/workspaces/{ws_id}/outputs").json()] == ["result.csv"]
    bad = alice.post(f"/api/workspaces/{ws_id}/jobs", json={"kind": "ruby", "script": "puts 1"})
    assert bad.status_code == 422

    page = alice.post(f"/workspaces/{ws_id}/jobs", data={"name": "py", "kind": "python",
                                                         "script": "open('note.txt', 'w').write('bon' + 'jour')",
                                                         "csrf_token": alice.headers["X-CSRF-Token"]})
    assert page.status_code == 303
    waiting = alice.get(page.headers["location"] + "?lang=en").text
    assert 'id="job-status" data-state="queued"' in waiting and "it will not start until the operators" in waiting
    assert '<meta http-equiv="refresh" content="3">' in waiting  # it reloads itself, no script (issue 18, item 8)
    drain(platform, checks_first=False)
    job_page = alice.get(page.headers["location"])
    assert 'id="job-status" data-state="succeeded"' in job_page.text and "bonjour" not in job_page.text  # outputs are not inlined
    assert 'http-equiv="refresh"' not in job_page.text  # ended: nothing to wait for
    assert "open(&#39;note.txt&#39;, &#39;w&#39;)" in job_page.text  # the script it ran, shown (escaped)
    view = re.search(r'<a class="view" href="([^"]+)"', job_page.text).group(1)
    seen = alice.get(view)  # its first lines, a screen view
    assert seen.status_code == 200 and "bonjour" in seen.text and seen.headers["X-Egress-Rule"] == "screen-view"
    with platform.db.unit_of_work() as s:  # a declaration the job wrote beside its table, for the checks
        row = workspaces.current_extract(s, workspaces.get_workspace(s, ws_id))
        jobs.register_output(s, platform, row=row, name="note.txt.sdc.json", content=b'{"counts": "n"}',
                        origin={"job": "by hand"})
    home = alice.get(f"/workspaces/{ws_id}").text
    outputs, evidence = (re.search(rf'<table id="{t}">(.*?)</table>', home, re.DOTALL).group(1)
                         for t in ("outputs", "evidence"))
    assert "note.txt.sdc.json" in evidence and "note.txt.sdc.json" not in outputs  # apart: never released itself
    assert "note.txt" in home and '<code id="engine">duckdb</code>' in home and "spark-hint" not in home

"""Researcher SQL runs only inside its workspace's sandbox (issue 13, "Why" 1, 3 and 6; SPE-01,
SPE-10): a hostile researcher with a valid permit tries to run commands through Spark, to read
another workspace's spill files, and to copy the microdata out by paging through query answers.
Each attempt must fail."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from bastide.server import create_app
from bastide.audit import service as audit
from bastide.identity import service as identity
from bastide.platform import operator_actor
from bastide.workspaces import query, screen
from bastide.workspaces import service as workspaces
from bastide.workspaces.engines import engines
from tests.integration.test_permit_lifecycle import _granted
from tests.portal import session_client
from tests.security.test_job_sandbox import _tree, _uids
from tests.workspace_fixtures import NAMED

SQLITE_ONLY = pytest.mark.parametrize("deployment_kind", ["sqlite+local"], indirect=True)  # the deployment is irrelevant


def _ask(platform, actor, ws_id, sql):
    return query.run_query(platform, actor=actor, ws_id=ws_id, sql=sql)


def test_a_console_query_runs_in_the_workspaces_own_sandboxed_engine(ready):  # both deployments: S3's files fetched
    platform, p, _permit, ws_id, _done = ready
    where = _ask(platform, p["alice"], ws_id, "SELECT current_setting('temp_directory') AS spill")
    assert where.rows == [["/scratch/spill"]]  # the engine's own spill folder, inside its sandbox
    engine = engines(platform)._running[ws_id]
    assert engine.process.pid not in (None, __import__("os").getpid())
    uids = {uid for pid in _tree(engine.process.pid) for uid in _uids(pid)}
    if __import__("os").geteuid() == 0:
        assert uids == {platform.settings.sandbox_uid_base + ws_id}
    for sql in ("SELECT * FROM read_blob('/proc/self/environ')", "SELECT * FROM read_text('/etc/passwd')",
                "SELECT * FROM glob('/extract/**')", f"SELECT * FROM read_blob('{platform.settings.home}/keys/master.key')",
                "SELECT * FROM glob('/tmp/**')", "SELECT * FROM glob('.tmp/**')", "SELECT * FROM glob('/run/**')",
                "SELECT * FROM READ_BLOB('/proc/1/environ')"):
        with pytest.raises(query.QueryFailed):
            _ask(platform, p["alice"], ws_id, sql)
    assert _ask(platform, p["alice"], ws_id, "SELECT count(*) FROM IR_BEN_R").rows[0][0] > 0


SPILLING = ("SELECT count(*) AS n FROM (SELECT md5(CAST(i AS VARCHAR)) AS s, i FROM range(8000000) t(i) ORDER BY s) "
            "WHERE i % 2 = 0")  # a sort DuckDB cannot fit in 64 MB: it spills


@SQLITE_ONLY
def test_one_workspace_cannot_read_another_workspaces_spill_files(ready):
    platform, p, _permit, ws_a, _done = ready
    permit_b = _granted(platform, p, {**NAMED, "persons": ["bob@labo.example"]})
    workspaces.provision(platform, actor=operator_actor(), permit_id=permit_b)
    with platform.db.unit_of_work() as s:
        ws_b = next(w.id for w in workspaces.list_workspaces(s) if w.id != ws_a)
    platform.settings.workspace_memory_limit = "64MB"  # A's sort spills
    _ask(platform, p["bob"], ws_b, "SELECT 1")  # B's engine is up before A spills
    spilled: list[Path] = []
    result: dict = {}
    sorting = threading.Thread(target=lambda: result.setdefault("a", _ask(platform, p["alice"], ws_a, SPILLING)))
    sorting.start()
    a_spill = None
    seen_by_b = []
    while sorting.is_alive():
        engine = engines(platform)._running.get(ws_a)
        if engine is not None:
            a_spill = engine.spill
            spilled += [f for f in a_spill.glob("**/*") if f.is_file()]
        if spilled:  # A's spill files exist now: B looks for them, in its sandbox and by their host path
            seen_by_b.append(_ask(platform, p["bob"], ws_b, "SELECT count(*) AS n FROM glob('/scratch/spill/**')").rows)
            with pytest.raises(query.QueryFailed):
                _ask(platform, p["bob"], ws_b, f"SELECT * FROM read_blob('{spilled[0]}')")
        time.sleep(0.2)
    sorting.join()
    assert result["a"].rows == [[4_000_000]]
    assert spilled, "A's query did not spill: the test proves nothing"
    assert seen_by_b and all(rows == [[0]] for rows in seen_by_b)


@SQLITE_ONLY
def test_paging_through_answers_stops_at_the_daily_screen_view_quota_and_names_the_airlock(ready):
    platform, p, _permit, ws_id, done = ready
    platform.settings.workspace_query_rows, platform.settings.workspace_daily_rows = 20, 50
    app = create_app(platform)
    with platform.db.unit_of_work() as s:
        alice = session_client(app, platform, identity.get_user(s, "alice@labo.example").id)
    pages, offset = [], 0
    while True:
        page = alice.post(f"/api/workspaces/{ws_id}/queries",
                          json={"sql": f"SELECT * FROM ER_PRS_F ORDER BY 1, 2, 3 LIMIT 1000 OFFSET {offset}"})
        if page.status_code != 200:
            break
        pages.append(page.json())
        offset += page.json()["row_count"]
    assert [pg["row_count"] for pg in pages] == [20, 20, 10]  # the third page is cut by the quota
    assert pages[-1]["truncated_by"] == "quota" and pages[-1]["quota_left"] == 0
    assert page.status_code == 429 and page.json()["error"]["code"] == "view_quota_reached"
    assert "airlock" in page.json()["error"]["message"]
    with platform.db.unit_of_work() as s:
        assert screen.shown(s, ws_id=ws_id, person=p["alice"].id) == 50
        refused = audit.list_events(s, target=f"workspace:{done.workspace}", limit=1)[0]
        assert refused.action == "workspace:refused" and refused.details["reason"] == "view_quota_reached"
    platform.settings.workspace_daily_rows, platform.settings.workspace_query_size = 10_000, "2KB"
    wide = _ask(platform, p["alice"], ws_id, "SELECT repeat('x', 500) AS filler FROM range(100)")
    assert wide.truncated_by == "bytes" and 0 < wide.row_count < 5  # a screen view is small in bytes too


PLAN = "cannot run in a workspace"  # spark/plans.py: a node of the analysed plan refused
READ_ONLY = "one read-only statement"
# each attempt and the refusal it must get (not any error: an error could be a bug that let it run)
SPARK_ESCAPES = {
    "a shell command under a query": (
        "SELECT * FROM (SELECT TRANSFORM(BEN_SEX_COD) USING 'id' AS (a) FROM IR_BEN_R)", PLAN),
    "a shell command in a CTE": ("WITH x AS (SELECT TRANSFORM(BEN_SEX_COD) USING 'cat /proc/1/environ' AS (a) "
                                 "FROM IR_BEN_R) SELECT * FROM x", PLAN),
    "reflection, name quoted": ("SELECT `reflect`('java.lang.System', 'getenv', 'HOME')", PLAN),
    "reflection behind a comment": ("SELECT reflect/**/('java.lang.System', 'getProperty', 'user.home')", PLAN),
    "reflection in a subquery": ("SELECT * FROM IR_BEN_R WHERE BEN_SEX_COD IN "
                                 "(SELECT `java_method`('java.lang.Runtime', 'getRuntime'))", PLAN),
    "reflection by its plain name": ("SELECT reflect('java.lang.System', 'getenv', 'HOME')", READ_ONLY),
    "a file by path": ("SELECT * FROM parquet.`/extract`", "TABLE_OR_VIEW_NOT_FOUND"),  # SQL on files is off
    "a function": ("CREATE TEMPORARY FUNCTION f AS 'java.lang.String'", READ_ONLY),
    "a view over files": ("CREATE TEMPORARY VIEW v USING parquet OPTIONS (path '/extract')", READ_ONLY),
}


@pytest.mark.slow
@pytest.mark.xdist_group("spark")
def test_spark_queries_cannot_run_commands_or_code_from_the_console_or_a_job(workspace):
    platform, p, ws_id, _done = workspace
    for attempt, (sql, said) in SPARK_ESCAPES.items():
        with pytest.raises(query.QueryFailed) as refused:
            _ask(platform, p["alice"], ws_id, sql)
        assert said in refused.value.message, (attempt, refused.value.message)
    from bastide.workspaces import jobs

    script = "from bastide import workspace\n" + "".join(
        f"try:\n    print('ANSWER', workspace.sql({sql!r}).to_pylist())\nexcept workspace.QueryError as e:\n"
        f"    print('REFUSED', {attempt!r}, {said!r} in str(e))\n" for attempt, (sql, said) in SPARK_ESCAPES.items())
    job = jobs.run(platform, job_id=jobs.submit(platform, actor=p["alice"], ws_id=ws_id, name="escape", kind="python",
                                                script=script))
    assert job.status == "succeeded", job.log
    assert "ANSWER" not in job.log and job.log.count("REFUSED") == len(SPARK_ESCAPES), job.log
    assert job.log.count("True") == len(SPARK_ESCAPES), job.log  # each for its own reason

"""The analytics layer inside a workspace, on both engines (issue 6): the worked example of
docs/analytics.md runs in the SQL console, in sandboxed jobs and on DuckDB over the same
extract, and gives what a computation of this test's own from the raw tables gives. The
platform runs DuckDB; the permit names Spark (its processing environment), so the extract
is built, queried and processed on Spark — jobs through the engine gateway."""

from __future__ import annotations

import json
import re
from collections import defaultdict
from datetime import timedelta
from pathlib import Path

import pyarrow as pa
import pytest

from bastide.analytics.pmsi import DUPLICATE_FINESS
from bastide.analytics.views import workspace_views
from bastide.server import create_app
from bastide.audit import service as audit
from bastide.identity import service as identity
from bastide.workspaces import jobs, query
from bastide.workspaces import service as workspaces
from bastide.query.engine import DuckDBEngine
from bastide.workspaces.models import Extract
from tests.integration.test_spark import pyspark  # noqa: F401 (pyspark is installed by the test set-up)
from tests.portal import session_client
from tests.snds_rules import chained, counted
from tests.workspace_fixtures import SPARK_TABLES, SPARK_TIME

# one worker, one JVM, fixtures built once
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("spark"), SPARK_TIME]

DOC = (Path(__file__).parents[2] / "docs" / "analytics.md").read_text()
WORKED = re.search(r"<!-- worked-example -->\n```sql\n(.*?)```", DOC, re.S).group(1)
TABLES = SPARK_TABLES


def _tables(platform) -> dict[str, pa.Table]:
    with platform.db.unit_of_work() as s:
        row = s.query(Extract).filter(Extract.status == "ready").one()
        return {n: src.dataset.to_table() for n, src in query.extract_tables(s, platform, row).items()}


def _by_keys(table: pa.Table, keys: list[str]) -> dict[tuple, list[dict]]:
    out = defaultdict(list)
    for r in table.to_pylist():
        out[tuple(r[k] for k in keys)].append(r)
    return out


DCIR_KEYS = ["DCT_ORD_NUM", "FLX_DIS_DTD", "FLX_EMT_NUM", "FLX_EMT_ORD", "FLX_EMT_TYP", "FLX_TRT_DTD", "ORG_CLE_NUM",
             "PRS_ORD_NUM", "REM_TYP_AFF"]


def _expected(t: dict[str, pa.Table]) -> tuple[int, int]:
    """The worked example from the raw extract, in Python: filtered prestations, J01 dispensations
    (IR_PHA_R's ATC7 by the line's CIP13, else its CIP7: fiches/medicament.md) netted per person,
    drug and day, first day after the washout, stays (not sessions, GHM 28) within 90 days."""
    taa = {k for k, rows in _by_keys(t["ER_ETE_F"], DCIR_KEYS).items() if any(r["ETE_IND_TAA"] == 1 for r in rows)}
    prs = {k: rows[0] for k, rows in _by_keys(t["ER_PRS_F"], DCIR_KEYS).items()
           if rows[0]["DPN_QLF"] != 71 and rows[0]["PRS_DPN_QLP"] != 71 and rows[0]["BSE_PRS_NAT"] != 0 and k not in taa}
    drugs = t["IR_PHA_R"].to_pylist()
    by_c13, by_c7 = ({r[k]: r["PHA_ATC_C07"] or "" for r in drugs} for k in ("PHA_CIP_C13", "PHA_PRS_IDE"))
    boxes = defaultdict(int)
    for key, lines in _by_keys(t["ER_PHA_F"], DCIR_KEYS).items():
        if key in prs:
            for line in lines:
                c13, c7 = line["PHA_PRS_C13"], line["PHA_PRS_IDE"]
                if (by_c13.get(c13, "") if c13 is not None else by_c7.get(c7, "")).startswith("J01"):
                    boxes[(prs[key]["BEN_NIR_PSA"], c13 or c7, prs[key]["EXE_SOI_DTD"])] += line["PHA_ACT_QSN"]
    first = {}
    for (person, _cip, day), n in boxes.items():
        if n > 0:
            first[person] = min(first.get(person, day), day)
    new = {p: d for p, d in first.items() if d.isoformat() >= "2023-04-01"}
    chains = _by_keys(t["T_MCOaaC"], ["ETA_NUM", "RSA_NUM"])
    stays = defaultdict(list)
    for b in t["T_MCOaaB"].to_pylist():
        for c in chains.get((b["ETA_NUM"], b["RSA_NUM"]), []):
            ghm = b["GRG_GHM"] or ""
            kept = not (str(b["ETA_NUM"]) in DUPLICATE_FINESS and b["SOR_ANN"] <= 2017) and counted(b) and chained(c)
            if kept and not ghm.startswith("28"):
                stays[c["NIR_ANO_17"]].append(c["EXE_SOI_DTD"])  # to the month, as the extract has it
    hospitalised = {p for p, day in new.items() if any(day <= s <= day + timedelta(days=90) for s in stays[p])}
    return len(new), len(hospitalised)


def _on_duckdb(platform, *queries: str) -> list[list[tuple]]:
    """The queries on a DuckDB engine over the same extract, with the same analytics views."""
    engine = DuckDBEngine(memory_limit="1GB", threads=2)
    try:
        with platform.db.unit_of_work() as s:
            sources = query.extract_tables(s, platform, s.query(Extract).filter(Extract.status == "ready").one())
        for name, source in sources.items():
            engine.register_source(name, source)
        for name, sql in workspace_views({n: src.schema for n, src in sources.items()}, engine.dialect):
            engine.define_view(name, sql)
        return [engine.con.execute(sql).fetchall() for sql in queries]
    finally:
        engine.close()


COUNTS = "SELECT category, count(*) AS n, count(DISTINCT person) AS persons FROM events GROUP BY category"


def test_the_worked_example_runs_in_the_console_in_a_job_and_on_both_engines(workspace):
    """The permit says Spark: the extract was built there and the console queries there; the SQL
    job's query runs there through the gateway; DuckDB over the same extract agrees."""
    platform, p, ws_id, done = workspace
    expected = _expected(_tables(platform))
    assert expected[0] > 0 and expected[1] > 0  # the synthetic people are enough for the example to mean something
    with platform.db.unit_of_work() as s:
        manifest = platform.store.get_bytes(f"{s.query(Extract).one().prefix}/EXTRACT.json")
    assert json.loads(manifest)["engine"] == "spark" and platform.settings.engine == "duckdb"

    console = query.run_query(platform, actor=p["alice"], ws_id=ws_id, sql=WORKED)  # on Spark
    assert console.columns == ["new_users", "hospitalised_within_90_days"]
    assert tuple(console.rows[0]) == expected

    job = jobs.run(platform, job_id=jobs.submit(platform, actor=p["alice"], ws_id=ws_id, name="worked", kind="sql",
                                                script=WORKED))
    assert job.status == "succeeded", job.log
    assert f"{expected[0]},{expected[1]}" in job.log

    on_spark = query.run_query(platform, actor=p["alice"], ws_id=ws_id, sql=COUNTS).rows
    worked, on_duckdb = _on_duckdb(platform, WORKED, COUNTS)
    assert worked == [expected]
    assert sorted(on_duckdb) == sorted(tuple(r) for r in on_spark)
    assert {"drug_cip", "drug_atc3", "drug_atc7", "mco_main_diagnosis", "mco_associated_diagnosis", "mco_ccam_act", "dcir_ccam_act",
            "mco_hospital_stay", "ald", "death", "death_cause", "death_certificate_cause"} <= {r[0] for r in on_duckdb}


SPARK_JOB = """
import os
import duckdb
from bastide import workspace
print("tables", workspace.tables())
print("data", sorted(os.listdir("/data")))
counts = duckdb.from_arrow(workspace.sql("SELECT category, count(*) AS n FROM events GROUP BY category"))
counts.order("category").write_csv("counts.csv")
ben = workspace.table("IR_BEN_R").to_pandas()
print("persons", len(ben))
for attempt in ("CREATE TABLE t AS SELECT 1", "SELECT * FROM parquet.`/etc`", "SELECT * FROM range(100000)"):
    try:
        workspace.sql(attempt)
    except workspace.QueryError as refused:
        print("refused:", refused)
try:
    workspace.duckdb()
except workspace.QueryError as refused:
    print("no copy:", refused)
"""


def test_a_python_job_queries_spark_through_the_gateway_and_nothing_else(workspace):
    platform, p, ws_id, done = workspace
    settings = platform.settings
    platform.settings = settings.model_copy(update={"job_result_rows": 50_000})
    try:
        job = jobs.run(platform, job_id=jobs.submit(platform, actor=p["alice"], ws_id=ws_id, name="spark", kind="python",
                                                    script=SPARK_JOB))
    finally:
        platform.settings = settings
    assert job.status == "succeeded", job.log
    assert f"tables {sorted(TABLES)}" in job.log and "data ['imports']" in job.log  # the extract was not copied
    assert f"persons {done.tables['IR_BEN_R']['rows']}" in job.log
    assert job.log.count("refused:") == 3 and "read-only" in job.log and "more than 50,000 rows" in job.log
    assert "no copy: this workspace runs on Spark" in job.log
    with platform.db.unit_of_work() as s:
        alice = session_client(create_app(platform), platform, identity.get_user(s, "alice@labo.example").id)
    page = alice.get(f"/workspaces/{ws_id}?lang=en").text
    assert '<code id="engine">spark</code>' in page and "query it with workspace.sql" in page  # what the researcher is told
    with platform.db.unit_of_work() as s:
        output = next(o for o in jobs.list_outputs(s, workspaces.get_workspace(s, ws_id)) if o.name == "counts.csv")
        assert output.provenance["engine"] == "spark" and output.provenance["job"] == job.reference
        counts = jobs.read_output(s, platform, output).decode()
        queries = [e.details for e in reversed(audit.list_events(s, limit=1000))
                   if e.action == "workspace:query" and e.details.get("job") == job.reference]
    expected = sorted((category, n) for category, n, _persons in _on_duckdb(platform, COUNTS)[0])
    assert counts.splitlines()[1:] == [f"{category},{n}" for category, n in expected]
    assert [q["outcome"] for q in queries] == ["ok", "ok", "query_failed", "query_failed", "result_too_large"]


READ_ONLY = "one read-only statement"
# each attempt and the refusal it must get: not any error (issue 14: "failed" anywhere counted)
SPARK_ESCAPES = {
    "a setting": ("SET spark.sql.runSQLOnFiles=true", READ_ONLY),
    "a file by path": ("SELECT * FROM parquet.`/etc`", "TABLE_OR_VIEW_NOT_FOUND"),  # SQL on files is off
    "Java by reflection": ("SELECT reflect('java.lang.System', 'getProperty', 'user.home')", READ_ONLY),
    "a table": ("CREATE TABLE t AS SELECT 1 AS one", READ_ONLY),
    "two statements": ("SELECT 1; DROP VIEW events", READ_ONLY),
    "a jar": ("ADD JAR /tmp/x.jar", READ_ONLY),
}


def test_the_spark_console_runs_one_read_only_query_and_stops_on_time(workspace):
    platform, p, ws_id, _done = workspace
    for attempt, (sql, said) in SPARK_ESCAPES.items():
        with pytest.raises(query.QueryFailed) as refused:
            query.run_query(platform, actor=p["alice"], ws_id=ws_id, sql=sql)
        assert said in refused.value.message, (attempt, refused.value.message)
    with pytest.raises(query.QueryFailed, match="TABLE_OR_VIEW_NOT_FOUND"):
        query.run_query(platform, actor=p["alice"], ws_id=ws_id, sql="SELECT * FROM nowhere")
    settings = platform.settings
    platform.settings = settings.model_copy(update={"workspace_query_seconds": 2})
    try:
        with pytest.raises(query.QueryFailed) as late:
            query.run_query(platform, actor=p["alice"], ws_id=ws_id,
                            sql="SELECT count(*) FROM range(100000000) AS a CROSS JOIN range(100000) AS b")
        assert late.value.code == "query_timeout"
    finally:
        platform.settings = settings

"""What the execution boundary of issue 13 costs: researcher SQL and code in the workspace's
sandbox rather than in the platform's process, as ratios to baselines measured in the same run.

    .venv/bin/python bench/boundary.py --beneficiaries 850000     # a ~1 M-row extract

1. permit to usable workspace: `workspaces.service.provision` end to end (cohort, minimisation,
   pseudonyms and surrogates, encryption, read-back) for about 1 M rows (target < 30 s);
2. a workspace query, both sides warm (one untimed run each first: the engine started, the files
   in the page cache), medians of 15 interleaved runs:
   - ours: `workspaces.query.run_query` — access check and daily quota (two transactions), Arrow
     Flight over a unix socket to the workspace's engine in its bubblewrap sandbox (its own
     process and uid, seccomp, limits), the engine's read-only check, the answer streamed back,
     the audit event;
   - baseline: the same SQL in a plain DuckDB connection in this process over the same extract
     files (a decrypting pyarrow dataset registered, the same two threads), result fetched;
   on a small count (the fixed overhead, target <= 30 ms) and on the per-person analytic query
   (target <= 1.15x);
3. a job's start: from `jobs.run` to the first line of the script running in its sandbox, vs a
   bare `python -c` start of the same interpreter (target <= 1 s).
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path

import duckdb

from bastide.platform import operator_actor
from bastide.workspaces import jobs, query
from bastide.workspaces import service as workspaces

sys.path.insert(0, str(Path(__file__).parent))
from extract import base_parser, granted_permit, published  # noqa: E402

QUERIES = (
    ("a count by sex", "SELECT BEN_SEX_COD, count(*) AS n, sum(PRS_PAI_MNT) AS paid FROM ER_PRS_F GROUP BY 1"),
    ("per-person care use", "SELECT BEN_NIR_PSA, count(*) AS acts, sum(PRS_PAI_MNT) AS paid, "
     "count(DISTINCT PRS_NAT_REF) AS kinds, min(EXE_SOI_DTD) AS first FROM ER_PRS_F GROUP BY 1 ORDER BY acts DESC LIMIT 100"),
)
ROUNDS = 15
FIRST_LINE = "import time\nprint('started', time.time(), flush=True)\n"


def _timed(fn) -> float:
    began = time.perf_counter()
    fn()
    return time.perf_counter() - began


def query_rounds(platform, researcher, ws_id: int, tables: dict, sql: str) -> tuple[float, float]:
    con = duckdb.connect(config={"threads": platform.settings.duckdb_threads})
    for name, source in tables.items():
        con.register(name, source.dataset)
    ours = lambda: query.run_query(platform, actor=researcher, ws_id=ws_id, sql=sql)  # noqa: E731
    raw = lambda: con.sql(sql).fetchall()  # noqa: E731
    raw(), ours()  # warm: the engine is up, the files are in the page cache
    rounds = [(_timed(raw), _timed(ours)) for _ in range(ROUNDS)]  # interleaved: drift touches both alike
    con.close()
    return statistics.median(r[0] for r in rounds), statistics.median(r[1] for r in rounds)


def job_start(platform, researcher, ws_id: int) -> tuple[float, float]:
    """Seconds from `jobs.run` to the script's first line, and a bare interpreter's start (medians of 5)."""
    ours, bare = [], []
    for _ in range(5):
        job_id = jobs.submit(platform, actor=researcher, ws_id=ws_id, name="start", kind="python", script=FIRST_LINE)
        began = time.time()
        job = jobs.run(platform, job_id=job_id)
        ours.append(float(job.log.split()[1]) - began)
        began = time.time()
        printed = subprocess.run([sys.executable, "-c", FIRST_LINE], capture_output=True, text=True).stdout
        bare.append(float(printed.split()[1]) - began)
    return statistics.median(ours), statistics.median(bare)


def main() -> None:
    args = base_parser(__doc__, 850_000).parse_args()
    platform = published(args.out, args.beneficiaries, args.seed)
    platform.settings.workspace_daily_rows = 10**9  # the benchmark is not a person reading rows
    scope = {"snapshot": "snds@bench", "tables": ["ER_PRS_F"], "years": [2023],
             "population": {"sex": [2], "age_min": 20, "age_max": 64}}
    permit_id, researcher = granted_permit(platform, scope)
    began = time.monotonic()
    done = workspaces.provision(platform, actor=operator_actor(), permit_id=permit_id)
    print(f"permit to usable workspace: {time.monotonic() - began:.1f} s for {done.rows:,} rows "
          f"({done.cohort:,} persons; target < 30 s)")
    with platform.db.unit_of_work() as s:
        ws = next(w for w in workspaces.list_workspaces(s) if w.reference == done.workspace)
        tables = query.extract_tables(s, platform, workspaces.current_extract(s, ws))
        ws_id = ws.id
    for label, sql in QUERIES:
        raw_q, our_q = query_rounds(platform, researcher, ws_id, tables, sql)
        print(f"query, {label}: plain DuckDB {raw_q * 1000:.1f} ms, sandboxed workspace query {our_q * 1000:.1f} ms "
              f"(medians of {ROUNDS} interleaved runs) -> {our_q / raw_q:.2f}x, {(our_q - raw_q) * 1000:.1f} ms more")
    ours, bare = job_start(platform, researcher, ws_id)
    print(f"job start: to the script's first line {ours:.2f} s, a bare interpreter {bare:.2f} s "
          f"(medians of 5) -> {ours - bare:.2f} s for the sandbox and the platform (target <= 1 s in all)")
    platform.close()


if __name__ == "__main__":
    main()

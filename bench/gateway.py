"""What a job pays to query its data through the engine gateway rather than asking the engine.

The same queries answered by the same workspace engine (its process in its sandbox, issue 13),
once directly (Arrow Flight from this process, as the console does) and once through the
gateway's unix socket and the client a sandboxed job uses (`bastide.workspace.sql`), on a
DuckDB and on a Spark workspace (local mode), each provisioned from a permit.

    .venv/bin/python bench/gateway.py --beneficiaries 100000

Two queries over one year of the synthetic SNDS: an aggregate (events per category: a few
rows back, latency) and a large result (the year's `drug_dispensations`: rows back, transfer).
The ratio gateway/direct is the gateway's cost; the rows per second of the large result are
what a job can bring into its sandbox.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from bastide import workspace
from bastide.platform import operator_actor
from bastide.workspaces import query
from bastide.workspaces import service as workspaces
from bastide.workspaces.engines import engines
from bastide.workspaces.gateway import Gateway

sys.path.insert(0, str(Path(__file__).parent))
from extract import base_parser, granted_permit, published  # noqa: E402
from scale import EVENT_TABLES, YEAR, spark_local  # noqa: E402

QUERIES = {"aggregate": "SELECT category, count(*) AS n FROM events GROUP BY category",
           "rows": "SELECT * FROM drug_dispensations"}
LIMIT = 50_000_000
SECONDS = 3600


def provisioned(platform, engine_name: str):
    """A workspace of the year's event tables, built on `engine_name`, and its extract files."""
    form_engine = {"engine": "spark"} if engine_name == "spark" else {}
    permit_id, _researcher = granted_permit(platform, {"snapshot": "snds@bench", "tables": list(EVENT_TABLES),
                                                       "years": [YEAR]}, **form_engine)
    done = workspaces.provision(platform, actor=operator_actor(), permit_id=permit_id)
    with platform.db.unit_of_work() as s:
        ws = next(w for w in workspaces.list_workspaces(s) if w.reference == done.workspace)
        return query.extract_files(ws, workspaces.current_extract(s, ws), platform.settings)


def direct(platform, files) -> dict[str, tuple[float, int]]:
    engine = engines(platform).engine(files)
    return {name: timed(lambda sql=sql: engine.answer(sql, rows=LIMIT, max_bytes=1 << 40, seconds=SECONDS).table)
            for name, sql in QUERIES.items()}


def through_gateway(platform, files) -> dict[str, tuple[float, int]]:
    ask = lambda sql, rows: engines(platform).engine(files).answer(sql, rows=rows, max_bytes=1 << 40,  # noqa: E731
                                                                   seconds=SECONDS)
    with Gateway(ask=ask, tables=sorted(files.tables), cap=LIMIT) as gateway:
        workspace.ENGINE_SOCKET = str(gateway.path)  # what a Spark workspace's job is given
        return {name: timed(lambda sql=sql: workspace.sql(sql)) for name, sql in QUERIES.items()}


def timed(run, repeat: int = 3) -> tuple[float, int]:
    """The best of `repeat` runs after one to warm (views defined, files listed, JIT)."""
    rows = run().num_rows
    best = float("inf")
    for _ in range(repeat):
        began = time.monotonic()
        run()
        best = min(best, time.monotonic() - began)
    return best, rows


def main() -> None:
    parser = base_parser(__doc__, 100_000)
    parser.add_argument("--engines", nargs="+", default=["duckdb", "spark"], choices=["duckdb", "spark"])
    args = parser.parse_args()
    platform = spark_local(published(args.out, args.beneficiaries, args.seed))
    for engine_name in args.engines:
        files = provisioned(platform, engine_name)
        inside, outside = direct(platform, files), through_gateway(platform, files)
        for name in QUERIES:
            (d_s, d_rows), (g_s, g_rows) = inside[name], outside[name]
            assert d_rows == g_rows, (engine_name, name, d_rows, g_rows)
            into = f"; {g_rows / g_s:,.0f} rows/s into the job" if name == "rows" else ""
            print(f"{engine_name:6} {name:9} {d_rows:>10,} rows: direct {d_s:6.2f} s, gateway {g_s:6.2f} s "
                  f"-> gateway/direct {g_s / d_s:.2f}x{into}")
    platform.close()


if __name__ == "__main__":
    main()

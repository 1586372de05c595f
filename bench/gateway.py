"""What a job pays to query its data through the engine gateway rather than in-process.

The same queries answered by the same engine, once directly (`query.answer`, as the console does)
and once through the gateway's unix socket and the client a sandboxed job uses
(`bastide.workspace.sql`), on DuckDB and on Spark (local mode).

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
from bastide.catalogue import service as catalogue
from bastide.workspaces.engine import sealed_engine
from bastide.workspaces.gateway import Gateway
from bastide.workspaces.query import Scope, answer
from bastide.workspaces.source import open_table, snapshot_files

sys.path.insert(0, str(Path(__file__).parent))
from extract import base_parser, published  # noqa: E402
from scale import EVENT_TABLES, YEAR, spark_local  # noqa: E402

QUERIES = {"aggregate": "SELECT category, count(*) AS n FROM events GROUP BY category",
           "rows": "SELECT * FROM drug_dispensations"}
LIMIT = 50_000_000
SECONDS = 3600


def sources(platform) -> dict:
    with platform.db.unit_of_work() as s:
        files = snapshot_files(platform.store, catalogue.get_snapshot(s, "snds@bench"))
        return {t: open_table(s, store=platform.store, keys=platform.keys, files=files.of(t, (YEAR,)))
                for t in EVENT_TABLES}


def direct(platform, engine_name: str, tables: dict) -> dict[str, tuple[float, int]]:
    scope = Scope(sealed_engine(platform.settings, engine_name), tables)
    try:
        return {name: timed(lambda sql=sql: answer(scope, sql, cap=LIMIT, seconds=SECONDS)[0]) for name, sql in
                QUERIES.items()}
    finally:
        scope.engine.close()


def through_gateway(platform, engine_name: str, tables: dict) -> dict[str, tuple[float, int]]:
    with Gateway(open_engine=lambda: sealed_engine(platform.settings, engine_name), tables=tables, cap=LIMIT,
                 seconds=SECONDS) as gateway:
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
    tables = sources(platform)
    for engine_name in args.engines:
        inside, outside = direct(platform, engine_name, tables), through_gateway(platform, engine_name, tables)
        for name in QUERIES:
            (d_s, d_rows), (g_s, g_rows) = inside[name], outside[name]
            assert d_rows == g_rows, (engine_name, name, d_rows, g_rows)
            into = f"; {g_rows / g_s:,.0f} rows/s into the job" if name == "rows" else ""
            print(f"{engine_name:6} {name:9} {d_rows:>10,} rows: direct {d_s:6.2f} s, gateway {g_s:6.2f} s "
                  f"-> gateway/direct {g_s / d_s:.2f}x{into}")
    platform.close()


if __name__ == "__main__":
    main()

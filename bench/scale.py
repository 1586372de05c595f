"""The same extract and the same DCIR flattening on DuckDB and on Spark (local mode), in one run,
with rows per second and per core: the measured input of the scaling model in docs/scale.md.

    .venv/bin/python bench/scale.py --beneficiaries 300000     # about 8 M DCIR prestation rows

1. extract: `workspaces.extract.build` of a 3-year drug-dispensation cohort (everyone with a
   dispensation of the most dispensed ATC class: all their ER_PRS_F and ER_PHA_F rows, every
   column, pseudonymised, encrypted), once on each engine; the two must agree on the row count;
2. flattening: one year of DCIR (ER_PRS_F with ER_PHA_F, ER_BIO_F, ER_CAM_F, ER_ETE_F on the
   9 keys, standard filters) written month by month as encrypted Parquet (`analytics.flatten`),
   on each engine; rows read (ER_PRS_F and details) and rows written per second;
3. events: the `events` table (drugs, diagnoses, acts, stays, ALD, deaths) of that year's DCIR
   and PMSI, written as encrypted Parquet on each engine; events per second (SCALPEL3's unit).
Spark's start (JVM, first job) is timed apart: a cluster pays it once, not per extract.
"""

from __future__ import annotations

import secrets
import sys
import tempfile
import time
from pathlib import Path

from bastide.analytics.flatten import flatten_dcir, months_of, snapshot_months
from bastide.analytics.views import workspace_views
from bastide.catalogue import service as catalogue
from bastide.query.engine import DuckDBEngine
from bastide.query.source import open_table, snapshot_files
from bastide.workspaces.spec import Population

sys.path.insert(0, str(Path(__file__).parent))
from extract import PORTAL_ROWS_PER_S, base_parser, most_dispensed_class, ours, published, spec_for  # noqa: E402

FLAT_TABLES = ("ER_PRS_F", "ER_PHA_F", "ER_BIO_F", "ER_CAM_F", "ER_ETE_F")
EVENT_TABLES = (*FLAT_TABLES, "IR_CIP_V", "IR_IMB_R", "IR_BEN_R", "T_MCOaaA", "T_MCOaaB", "T_MCOaaC", "T_MCOaaD")
YEAR = 2023
CORES = 2  # DuckDB threads and Spark local[N] alike


def spark_local(platform):
    """Spark on this machine's cores, as many as DuckDB's threads."""
    platform.settings = platform.settings.model_copy(update={"spark_master": f"local[{CORES}]",
                                                             "spark_shuffle_partitions": 2 * CORES})
    return platform


def spark_engine(platform):
    from bastide.workspaces.spark.engine import SparkEngine

    return SparkEngine(platform.settings)


def _register(platform, engine, tables) -> tuple[dict, int]:
    """The year's tables under their own names; their schemas and rows."""
    with platform.db.unit_of_work() as s:
        files = snapshot_files(platform.store, catalogue.get_snapshot(s, "snds@bench"))
        schemas, rows = {}, 0
        for table in tables:
            source = open_table(s, store=platform.store, keys=platform.keys, files=files.of(table, (YEAR,)))
            engine.register_source(table, source)
            schemas[table] = source.schema
            rows += source.dataset.count_rows()
    return schemas, rows


def flattening(platform, engine, folder: Path) -> tuple[float, int, int]:
    """Seconds, rows read, rows written for one year flattened month by month."""
    with platform.db.unit_of_work() as s:
        files = snapshot_files(platform.store, catalogue.get_snapshot(s, "snds@bench"))
        read = sum(f.rows for t in FLAT_TABLES for f in files.of(t, (YEAR,)))
        month, schemas = snapshot_months(s, store=platform.store, keys=platform.keys, files=files, tables=FLAT_TABLES)
        began = time.monotonic()
        written = flatten_dcir(engine, month=month, schemas=schemas, months=months_of(YEAR), folder=folder,
                               key_id="dk-flat", key=secrets.token_bytes(32))
        seconds = time.monotonic() - began
    engine.close()
    return seconds, read, sum(rows for w in written.values() for _p, rows in w.files)


def events(platform, engine, folder: Path) -> tuple[float, int]:
    """Seconds and events for the year's events table written encrypted (views defined first)."""
    schemas, _rows = _register(platform, engine, EVENT_TABLES)
    for name, sql in workspace_views(schemas, engine.dialect):
        engine.define_view(name, sql)
    began = time.monotonic()
    written = engine.write_parquet("SELECT * FROM events", folder, key_id="dk-events", key=secrets.token_bytes(32),
                                   batch_rows=262_144, parts=CORES)
    seconds = time.monotonic() - began
    engine.close()
    return seconds, sum(rows for _p, rows in written.files)


def rate(rows: int, seconds: float) -> str:
    return f"{rows / seconds:,.0f} rows/s ({rows / seconds / CORES:,.0f} per core)"


def main() -> None:
    args = base_parser(__doc__, 300_000).parse_args()
    platform = spark_local(published(args.out, args.beneficiaries, args.seed))
    with platform.db.unit_of_work() as s:
        snapshot = catalogue.get_snapshot(s, "snds@bench")
        dcir = sum(t.rows for t in snapshot.tables if t.name == "ER_PRS_F")
        ref, merkle_root = snapshot.ref, snapshot.merkle_root
    atc = most_dispensed_class(platform)
    print(f"snapshot: ER_PRS_F {dcir:,} rows over 3 years; {CORES} cores")

    began = time.monotonic()
    warm = spark_engine(platform)
    warm.stream("SELECT 1 AS one", 1)
    warm.close()
    print(f"Spark start (JVM, session, first job): {time.monotonic() - began:.1f} s, paid once per cluster")

    spec = spec_for(ref, merkle_root, Population(atc=(atc,)))
    duck_s, duck_rows = ours(platform, spec)
    spark_s, spark_rows = ours(platform, spec, spark_engine(platform))
    assert duck_rows == spark_rows, (duck_rows, spark_rows)
    print(f"extract, dispensers of {atc} over 3 years, every column ({duck_rows:,} rows): DuckDB {duck_s:.1f} s, "
          f"{rate(duck_rows, duck_s)}; Spark {spark_s:.1f} s, {rate(spark_rows, spark_s)} -> Spark/DuckDB "
          f"{duck_s / spark_s:.2f}x; Spark {spark_rows / spark_s / PORTAL_ROWS_PER_S:.1f}x the national portal")

    with tempfile.TemporaryDirectory() as tmp:
        duck = flattening(platform, DuckDBEngine(memory_limit="4GB", threads=CORES), Path(tmp) / "duckdb")
        spark = flattening(platform, spark_engine(platform), Path(tmp) / "spark")
        for name in ("duckdb-events", "spark-events"):
            (Path(tmp) / name).mkdir()
        duck_events = events(platform, DuckDBEngine(memory_limit="4GB", threads=CORES), Path(tmp) / "duckdb-events")
        spark_events = events(platform, spark_engine(platform), Path(tmp) / "spark-events")
    assert duck[1:] == spark[1:], (duck, spark)
    assert duck_events[1] == spark_events[1], (duck_events, spark_events)
    _s, read, written = duck
    print(f"flattening DCIR {YEAR} month by month ({read:,} rows read, {written:,} written): "
          f"DuckDB {duck[0]:.1f} s, {rate(read, duck[0])} read; Spark {spark[0]:.1f} s, {rate(read, spark[0])} read "
          f"-> Spark/DuckDB {duck[0] / spark[0]:.2f}x")
    n = duck_events[1]
    print(f"events of {YEAR} (DCIR and PMSI, {n:,} events): DuckDB {duck_events[0]:.1f} s, {rate(n, duck_events[0])}; "
          f"Spark {spark_events[0]:.1f} s, {rate(n, spark_events[0])} -> Spark/DuckDB {duck_events[0] / spark_events[0]:.2f}x")
    platform.close()


if __name__ == "__main__":
    main()

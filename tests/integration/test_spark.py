"""The Spark engine (issue 6): the same extract as DuckDB, row for row and pseudonym for pseudonym,
and Bastide's encrypted Parquet read and written by Spark through the key broker (KEY-01, KEY-03,
PSE-01…PSE-06, SPE-02, SPE-03). Spark runs in local mode: slow to start, so one session serves the
whole file (and the run)."""

from __future__ import annotations

import json
import secrets
from datetime import date

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from bastide.catalogue import service as catalogue
from bastide.governance import optout, permits
from bastide.keys import service as key_service
from bastide.keys.broker import broker
from bastide.keys.parquet import decryption_properties, encryption_properties
from bastide.platform import operator_actor
from bastide.workspaces import extract
from bastide.workspaces import service as workspaces
from bastide.query.engine import DuckDBEngine
from bastide.workspaces.models import Extract
from bastide.workspaces.pseudonym import pseudonym
from bastide.workspaces.spark.engine import SparkEngine
from bastide.workspaces.spec import ExtractSpec
from tests.conftest import _world, make_platform
from tests.integration.test_permit_lifecycle import _granted
from tests.integration.test_workspaces import _beneficiaries, _snapshot_table
from tests.snds_rules import Persons
from tests.unit.test_application_form import FULL
from tests.workspace_fixtures import SPARK_TIME

# one worker, one JVM, fixtures built once
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("spark"), SPARK_TIME]
pyspark = pytest.importorskip("pyspark")  # installed by the test set-up; never skipped there

KEY = secrets.token_bytes(32)
# every way a table meets the cohort: person (DCIR, PMSI, referential), the 9 DCIR keys, the stay
# keys; a referential whole; criteria on diagnoses, acts, drugs and sex
TABLES = ["ER_PRS_F", "ER_PHA_F", "ER_BIO_F", "ER_ETE_F", "IR_BEN_R", "IR_IMB_R", "IR_NAT_V", "T_MCOaaA",
          "T_MCOaaB", "T_MCOaaC", "T_MCOaaD"]
SCOPE = {"snapshot": "snds@2024-12", "tables": TABLES, "years": [2023],
         "population": {"icd10": ["E1", "I2"], "ccam": ["D", "Y"], "atc": ["A10"], "sex": [2], "combine": "any"}}


@pytest.fixture(scope="session")  # xdist may interleave other modules: module scope was built twice
def spark_world(tmp_path_factory, tiny_delivery):
    platform = make_platform(tmp_path_factory.mktemp("spark"), engine="spark")
    yield _world(platform, tiny_delivery)
    platform.close()


def _spark(platform) -> SparkEngine:
    return SparkEngine(platform.settings)


def test_encrypted_parquet_round_trips_between_pyarrow_and_spark(spark_world, tmp_path):
    platform, _p = spark_world
    table = pa.table({"n": [1, 2, 3], "who": ["a", "b", "c"]})
    pq.write_table(table, tmp_path / "py.parquet", encryption_properties=encryption_properties("dk-1", KEY))
    engine = _spark(platform)
    try:
        engine.grant.add("dk-1", KEY)
        assert sorted(engine.spark.read.parquet((tmp_path / "py.parquet").as_uri()).collect()) == \
            [(1, "a"), (2, "b"), (3, "c")]
        engine.register("T", table)
        written = engine.write_parquet('SELECT "n" * 10 AS n, who FROM T', tmp_path, key_id="dk-1", key=KEY,
                                       batch_rows=1024, parts=2)
        back = pa.concat_tables(pq.read_table(p, decryption_properties=decryption_properties({"dk-1": KEY}))
                                for p, _rows in written.files)
        assert sorted(back["n"].to_pylist()) == [10, 20, 30] and sum(r for _p, r in written.files) == 3
        with pytest.raises(OSError):  # pyarrow without the key: the file stays closed
            pq.read_table(written.files[0][0])
        with pytest.raises(OSError):  # with another data key: closed too
            pq.read_table(written.files[0][0], decryption_properties=decryption_properties({"dk-1": secrets.token_bytes(32)}))
    finally:
        engine.close()
    stranger = _spark(platform)  # a session granted no key: Spark cannot open the file either
    try:
        with pytest.raises(Exception, match="(?s)access denied|not granted"):
            stranger.spark.read.parquet((tmp_path / "py.parquet").as_uri()).collect()
    finally:
        stranger.close()


def test_the_key_broker_opens_only_what_a_token_was_granted():
    grant = broker().grant({"dk-2": KEY})
    assert broker().key(grant.token, "dk-2") == KEY
    for token, key_id in ((grant.token, "dk-3"), ("forged", "dk-2")):
        with pytest.raises(PermissionError):
            broker().key(token, key_id)
    grant.revoke()
    with pytest.raises(PermissionError):
        broker().key(grant.token, "dk-2")


def _tables_of(platform, body: dict, key: bytes, key_id: str) -> dict[str, pa.Table]:
    out = {}
    for name, table in body["tables"].items():
        parts = []
        for path in table["files"]:
            with platform.store.fs.open_input_file(platform.store.path(path)) as fh:
                parts.append(pq.read_table(fh, decryption_properties=decryption_properties({key_id: key})))
        out[name] = pa.concat_tables(parts)
    return out


def _rows(table: pa.Table) -> list[tuple]:
    return sorted((tuple(r.values()) for r in table.to_pylist()), key=repr)


def test_the_duckdb_and_spark_extracts_of_a_permit_are_identical(spark_world):
    """Provisioned on Spark (BASTIDE_ENGINE=spark), rebuilt on DuckDB with the same keys: the same
    rows, columns and pseudonyms, table by table."""
    platform, p = spark_world
    objector = sorted(_snapshot_table(platform, "IR_BEN_R")["BEN_NIR_PSA"].to_pylist())[0]
    with platform.db.unit_of_work() as s:  # recorded before the permit: excluded, on both engines (GOV-16)
        optout.record_optout(s, actor=p["louis"], pseudonym=objector)
    permit_id = _granted(platform, p, {**FULL, "data": SCOPE})
    done = workspaces.provision(platform, actor=operator_actor(), permit_id=permit_id)
    assert done.cohort > 0 and done.rows > 0
    with platform.db.unit_of_work() as s:
        row = s.query(Extract).filter(Extract.status == "ready").one()
        permit = permits.get_permit(s, permit_id)
        spec = ExtractSpec.from_permit(json.loads(permit.document))
        unwrap = lambda key_id: key_service.unwrap_key(s, keys=platform.keys, key_id=key_id)  # noqa: E731
        key_id, pseudonym_key, key = row.key_id, unwrap(row.workspace.pseudonym_key_id), unwrap(row.key_id)
        spark_tables = _tables_of(platform, {"tables": row.tables}, key, key_id)
        duck = DuckDBEngine(memory_limit="1GB", threads=2)
        try:
            body = extract.build(s, engine=duck, store=platform.store, keys=platform.keys,
                                 snapshot=catalogue.get_snapshot(s, spec.snapshot), spec=spec,
                                 pseudonym_key=pseudonym_key, excluded=optout.excluded(s, permit=permit),
                                 target=extract.Target(platform.store, "compare/duckdb", key_id, key))
        finally:
            duck.close()
        s.rollback()
    duck_tables = _tables_of(platform, body, key, key_id)
    assert body["cohort"] == done.cohort
    assert set(spark_tables) == set(duck_tables) == set(TABLES)
    for name in TABLES:
        spark_t, duck_t = spark_tables[name], duck_tables[name]
        assert spark_t.column_names == duck_t.column_names, name
        assert [f.type for f in spark_t.schema] == [f.type for f in duck_t.schema], name
        assert spark_t.num_rows == duck_t.num_rows == done.tables[name]["rows"], name
        assert _rows(spark_t) == _rows(duck_t), name
    persons = set(spark_tables["IR_BEN_R"]["BEN_NIR_PSA"].to_pylist())  # a row per pseudo-NIR, a pseudonym per person
    assert len(persons) == done.cohort
    objectors = Persons(_beneficiaries(platform)).by_nir[objector]
    assert objectors and not {pseudonym(pseudonym_key, o) for o in objectors} & persons


def test_the_dcir_flattening_gives_the_same_rows_on_both_engines(spark_world, tmp_path):
    """The flat DCIR, month by month, from the snapshot: DuckDB and Spark write the same rows."""
    from datetime import date

    from bastide.analytics.flatten import flatten_dcir, snapshot_months
    from bastide.query.source import snapshot_files

    platform, _p = spark_world
    months = [date(2023, 3, 1), date(2023, 4, 1)]
    flat = {}
    for name, engine in (("duckdb", DuckDBEngine(memory_limit="1GB", threads=2)), ("spark", _spark(platform))):
        try:
            with platform.db.unit_of_work() as s:
                files = snapshot_files(platform.store, catalogue.get_snapshot(s, "snds@2024-12"))
                month, schemas = snapshot_months(s, store=platform.store, keys=platform.keys, files=files)
                written = flatten_dcir(engine, month=month, schemas=schemas, months=months, folder=tmp_path / name,
                                       key_id="dk-1", key=KEY)
        finally:
            engine.close()
        flat[name] = pa.concat_tables(pq.read_table(path, decryption_properties=decryption_properties({"dk-1": KEY}))
                                      for w in written.values() for path, _rows in w.files)
    assert flat["duckdb"].num_rows > 0 and flat["duckdb"].column_names == flat["spark"].column_names
    assert _rows(flat["duckdb"]) == _rows(flat["spark"])


def _hand_made_on_spark(platform, tables: dict, queries: dict[str, str]) -> dict[str, list[tuple]]:
    """Hand-made tables of tests/unit through the same views on Spark: each query's sorted rows."""
    from bastide.analytics.views import workspace_views

    engine = _spark(platform)
    try:
        for name, table in tables.items():
            engine.register(name, table)
        for name, sql in workspace_views({n: t.schema for n, t in tables.items()}, engine.dialect):
            engine.define_view(name, sql)
        return {k: sorted(tuple(r.values()) for r in engine.stream(sql, batch_rows=1000).read_all().to_pylist())
                for k, sql in queries.items()}
    finally:
        engine.close()


def test_stays_of_two_years_sharing_their_numbers_stay_apart_on_spark(spark_world):
    """The hand-made stays of tests/unit/test_analytics.py (one establishment numbering a stay 1 in
    2022 and again in 2023, two patients), through the same views on Spark: the same answer."""
    from tests.unit.test_analytics import TWO_YEARS

    got = _hand_made_on_spark(spark_world[0], TWO_YEARS, {
        "stays": 'SELECT "year", NIR_ANO_17, DGN_PAL FROM mco_stays',
        "associated": "SELECT person, value FROM events WHERE category = 'mco_associated_diagnosis'"})
    assert got["stays"] == [(2022, "P1", "J18"), (2023, "P2", "E11")]
    assert got["associated"] == [("P1", "I10"), ("P2", "E78"), ("P2", "N18")]


def test_deaths_are_reconciled_alike_on_spark(spark_world):
    """tests/unit/test_deaths.py's persons (1600-01-01 sentinels, unmatched certificates, deaths in
    hospital) on Spark: the answer worked out by hand there."""
    from tests.unit.test_deaths import DEATHS

    got = _hand_made_on_spark(spark_world[0], DEATHS, {"deaths": "SELECT person, death_date, source, sources, "
                                                                 "dates_agree FROM deaths"})
    assert got["deaths"] == [("P2", date(2023, 6, 1), "referential", 2, True),
                             ("P3", date(2023, 3, 9), "cepidc", 2, True),
                             ("P4", date(2023, 4, 20), "hospital", 1, None),
                             ("P5", date(2023, 2, 1), "referential", 2, False),
                             ("P8", date(2023, 9, 9), "referential", 1, None)]

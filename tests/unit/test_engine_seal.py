"""The sealed DuckDB database behind workspace queries refuses by itself what the console's
read-only check already refuses (defence in depth, SPE-10): the seal must hold without it."""

import duckdb
import pyarrow as pa
import pytest

from bastide.query.engine import SealedDatabase


@pytest.fixture(scope="module")
def database():
    db = SealedDatabase(memory_limit="256MB", threads=1)
    yield db
    db.close()


@pytest.mark.parametrize("sql", [
    "SELECT * FROM read_csv('/etc/passwd')",
    "COPY (SELECT 42) TO '/tmp/bastide-seal-test.csv'",
    "SET enable_external_access = true",
    "SET memory_limit = '100GB'",
    "INSTALL httpfs",
    "ATTACH '/tmp/bastide-seal-test.duckdb'",
])
def test_the_seal_holds_for_every_connection(database, sql):
    engine = database.connect()
    with pytest.raises(duckdb.Error):
        engine.con.execute(sql)
    engine.close()


def test_what_one_connection_registers_the_next_cannot_see(database):
    first = database.connect()
    first.register("T", pa.table({"a": [1, 2]}))
    assert first.con.sql("SELECT sum(a) FROM T").fetchall() == [(3,)]
    second = database.connect()
    with pytest.raises(duckdb.CatalogException):
        second.con.sql("SELECT * FROM T").fetchall()
    first.close()
    second.close()


@pytest.mark.parametrize(("sql", "reads"), [
    ("SELECT 1", True), ("WITH t AS (SELECT 1 AS a) SELECT a FROM t", True), ("FROM T", True),
    ("DESCRIBE T", True), ("SUMMARIZE T", True), ("EXPLAIN SELECT 1", True),
    ("CREATE TABLE x AS SELECT 1", False), ("SELECT 1; SELECT 2", False), ("PRAGMA version", False),
    ("INSERT INTO x VALUES (1)", False),
])
def test_read_only_means_one_statement_that_reads(database, sql, reads):
    engine = database.connect()
    assert engine.read_only(sql) is reads
    engine.close()

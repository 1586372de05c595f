"""PSE-01…PSE-03: the SQL pseudonym is the Python reference, per project, and irreversible without the key."""

import secrets

import duckdb
import pytest

from bastide.workspaces.pseudonym import pseudonym, sql_pseudonym

VALUES = ["A" * 17, "0123456789abcdef0", "éàü-ßœ", "", "x" * 300]


@pytest.mark.parametrize("key_length", [16, 32, 64, 100])
def test_sql_and_python_give_the_same_pseudonyms(key_length):
    key = secrets.token_bytes(key_length)
    con = duckdb.connect()
    con.execute("CREATE TABLE ids (v VARCHAR)")
    con.executemany("INSERT INTO ids VALUES (?)", [[v] for v in [*VALUES, None]])
    rows = con.sql(f"SELECT v, {sql_pseudonym(key, 'v')} FROM ids ORDER BY rowid").fetchall()
    assert rows == [(v, pseudonym(key, v)) for v in VALUES] + [(None, None)]


def test_one_person_one_pseudonym_per_project_and_another_elsewhere():
    project_a, project_b = secrets.token_bytes(32), secrets.token_bytes(32)
    assert pseudonym(project_a, "NIR1") == pseudonym(project_a, "NIR1") != pseudonym(project_a, "NIR2")
    assert pseudonym(project_a, "NIR1") != pseudonym(project_b, "NIR1")


def test_the_sql_does_not_carry_the_key():
    key = secrets.token_bytes(32)
    assert key.hex() not in sql_pseudonym(key, "v")

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


def test_surrogates_in_sql_are_the_python_reference_on_every_type_and_leave_out_nulls():
    """Issue 13: a claim's surrogate from its seven décompte keys (integers, dates, text), a
    stay's, a professional's; the numeric slices read as 60-bit positive integers."""
    from datetime import date

    from bastide.workspaces.pseudonym import (
        number,
        sql_number,
        sql_surrogate,
        surrogate,
    )

    key = secrets.token_bytes(32)
    con = duckdb.connect()
    con.execute("CREATE TABLE c (a BIGINT, d DATE, t VARCHAR)")
    rows = [(12345, date(2023, 1, 1), "01C731"), (7, date(2024, 12, 31), None), (None, None, "x")]
    con.executemany("INSERT INTO c VALUES (?, ?, ?)", [list(r) for r in rows])
    digest = sql_surrogate(key, "claim", ["a", "d", "t"])
    got = con.sql(f"SELECT {digest} AS h, {sql_number(digest, 0)} AS n0, {sql_number(digest, 2)} AS n2 "
                  "FROM c ORDER BY rowid").fetchall()
    for (a, d, t), (h, n0, n2) in zip(rows, got, strict=True):
        expected = surrogate(key, "claim", a, d, t)
        assert h == expected and n0 == number(expected, 0) and n2 == number(expected, 2)
        assert 0 <= n0 < 2**60
    assert surrogate(key, "claim", 12345, date(2023, 1, 1), "01C731") == pseudonym(key, "claim|12345|2023-01-01|01C731")
    assert surrogate(key, "claim", 1, 2) != surrogate(key, "stay", 1, 2)  # kinds are kept apart
    assert surrogate(key, "claim", 1) != surrogate(secrets.token_bytes(32), "claim", 1)  # and projects

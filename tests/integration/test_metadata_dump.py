"""The metadata database as a portable dump (issue 17, items 2-3; SOV-07 documented formats): a
dump loads into an empty SQLite or PostgreSQL database and dumps back to the same rows, ids and
timestamps to the microsecond, JSON and bytes intact, so the audit chain and every signature
still hold; a damaged dump or a database that holds anything is refused, nothing written."""

from __future__ import annotations

import gzip
import io
import json

import pytest
from sqlalchemy import text

from bastide.audit.service import verify_chain
from bastide.backup import metadata
from bastide.db import Database
from bastide.errors import Conflict, InvalidInput
from bastide.identity import service as identity
from bastide.platform import operator_actor


def _dump(db: Database) -> bytes:
    out = io.BytesIO()
    metadata.dump(db, out)
    return out.getvalue()


def _rows(dump: bytes) -> list:
    lines = gzip.decompress(dump).splitlines()
    return [json.loads(line) for line in lines[1:]]  # the header names the dialect


def test_a_dump_loads_into_either_database_and_dumps_back_the_same(backed_up_once, database_url):
    source, _, _ = backed_up_once
    original = _dump(source.db)
    target = Database(database_url)
    info = metadata.load(target, io.BytesIO(original))
    try:
        assert info.rows["audit_event"] > 5 and info.rows["data_key"] >= 2 and info.rows["snapshot_table"] > 10
        assert _rows(_dump(target)) == _rows(original)
        with target.sessions() as s:
            assert verify_chain(s).ok
        with target.sessions() as s:  # the next row gets the next id, not a taken one (PostgreSQL's sequences)
            taken = s.execute(text("SELECT max(id) FROM organisation")).scalar()
            made = identity.create_organisation(s, actor=operator_actor(), name="Loaded after", sector="public")
            s.flush()
            assert made.id == taken + 1
            s.rollback()
    finally:
        target.dispose()


def test_a_truncated_or_foreign_dump_writes_nothing(backed_up_once, tmp_path):
    source, _, _ = backed_up_once
    lines = gzip.decompress(_dump(source.db)).splitlines(keepends=True)
    for broken, message in ((lines[: len(lines) // 2], "truncated|damaged"),
                            ([b'{"format": "something-else"}\n'], "not a Bastide metadata dump")):
        target = Database(f"sqlite:///{tmp_path / 'target.db'}")
        with pytest.raises(InvalidInput, match=message):
            metadata.load(target, io.BytesIO(gzip.compress(b"".join(broken))))
        metadata.check_empty(target)  # all rows or none: the transaction rolled back
        target.dispose()


def test_a_database_that_holds_anything_is_refused(backed_up_once):
    source, _, _ = backed_up_once
    with pytest.raises(Conflict, match="target database is not empty"):
        metadata.load(source.db, io.BytesIO(_dump(source.db)))

"""An extract table is written as several encrypted files side by side (Parquet encodes one
file on one thread); together they hold every row once, and a failure leaves nothing behind."""

import secrets

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from bastide.config import Settings
from bastide.keys.parquet import decryption_properties
from bastide.storage import open_store
from bastide.query.engine import DuckDBEngine
from bastide.workspaces.extract import Target, _write

KEY = secrets.token_bytes(32)


class _Given(DuckDBEngine):
    """The DuckDB engine's writer over batches given by the test (which may fail half-way)."""

    def __init__(self, reader: pa.RecordBatchReader):
        self.reader = reader

    def stream(self, sql, batch_rows):
        return self.reader


def _written(reader: pa.RecordBatchReader, target: Target) -> list[dict]:
    return _write(_Given(reader), "SELECT 1", target, "T")[1]


def _reader(batches: int, rows: int = 100, fail_at: int | None = None) -> pa.RecordBatchReader:
    schema = pa.schema([("n", pa.int64()), ("who", pa.string())])

    def batches_():
        for b in range(batches):
            if b == fail_at:
                raise RuntimeError("the engine stopped")
            yield pa.record_batch([pa.array(range(b * rows, (b + 1) * rows)), pa.array([f"p{b}"] * rows)], schema=schema)
    return pa.RecordBatchReader.from_batches(schema, batches_())


@pytest.fixture
def target(tmp_path):
    return Target(open_store(Settings(home=tmp_path)), "workspaces/WS-1/extract/v1", "dk-1", KEY, parts=2)


def _read(target: Target, path: str) -> pa.Table:
    with target.store.fs.open_input_file(target.store.path(path)) as fh:
        return pq.read_table(fh, decryption_properties=decryption_properties({"dk-1": KEY}))


def test_batches_are_dealt_to_files_that_hold_every_row_once(target):
    written = _written(_reader(5), target)
    assert [w["path"].rsplit("/", 1)[1] for w in written] == ["part-0.parquet", "part-1.parquet"]
    assert [w["rows"] for w in written] == [300, 200]
    together = pa.concat_tables(_read(target, w["path"]) for w in written)
    assert sorted(together["n"].to_pylist()) == list(range(500))
    assert all(target.store.sha256(w["path"])[0] == w["sha256"] for w in written)


def test_an_empty_table_is_one_empty_file_with_its_columns(target):
    [only] = _written(_reader(0), target)
    assert only["rows"] == 0 and _read(target, only["path"]).column_names == ["n", "who"]


def test_a_failure_half_way_leaves_no_file_in_the_store(target):
    with pytest.raises(RuntimeError, match="engine stopped"):
        _written(_reader(5, fail_at=3), target)
    assert list(target.store.list("workspaces/WS-1")) == []

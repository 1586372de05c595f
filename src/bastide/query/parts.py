"""Arrow batches written as encrypted Parquet files side by side (the DuckDB engine's writer):
Parquet encodes one file on one thread, and encoding was half of an extract's time."""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from bastide.keys.parquet import encryption_properties


@dataclass(frozen=True)
class Written:
    columns: list[str]
    files: list[tuple[Path, int]]  # each file and its rows


@dataclass
class _Part:
    """One encrypted file, encoded on its own thread, one batch in hand at a time."""
    writer: pq.ParquetWriter
    pool: ThreadPoolExecutor
    path: Path
    rows: int = 0
    pending: Future | None = None

    def add(self, batch: pa.RecordBatch) -> None:
        self.wait()  # bounded memory, and a failed write stops the extract at once
        self.pending = self.pool.submit(self.writer.write_batch, batch)
        self.rows += batch.num_rows

    def wait(self) -> None:
        if self.pending is not None:
            self.pending.result()


def write_parts(reader: pa.RecordBatchReader, folder: Path, *, key_id: str, key: bytes, parts: int) -> Written:
    """The batches dealt in turn to up to `parts` files `part-N.parquet` in `folder`."""
    with ExitStack() as stack:  # on exit: the threads finish their batch, then the files close
        written: list[_Part] = []
        for i, batch in enumerate(reader):
            if i < parts:  # a file is opened when it gets its first batch
                path = folder / f"part-{i}.parquet"
                writer = stack.enter_context(pq.ParquetWriter(
                    path, reader.schema, compression="zstd", encryption_properties=encryption_properties(key_id, key)))
                written.append(_Part(writer, stack.enter_context(ThreadPoolExecutor(1)), path))
            written[i % parts].add(batch)
        for part in written:
            part.wait()
    if not written:  # no row: one empty file keeps the table's columns
        path = folder / "part-0.parquet"
        pq.write_table(reader.schema.empty_table(), path, encryption_properties=encryption_properties(key_id, key))
        return Written(reader.schema.names, [(path, 0)])
    return Written(reader.schema.names, [(part.path, part.rows) for part in written])

"""The released bytes of a table are made by the platform from what it checked (issue 14
"Why" 1: a 2-row Parquet table whose file metadata held 2,000 person records passed every
check, two checkers approved it, and the signed release carried the records).

A table (CSV or Parquet) leaves as the platform writes it from the columns and rows it parsed:
CSV in one dialect (`,`, UTF-8, a header, every value quoted as text), Parquet with the data
and nothing else (no key-value metadata in the file or its columns, no Arrow schema blob).
Whatever the file held besides — metadata, a byte-order mark, another dialect — stays behind.
A table the platform cannot parse whole is blocked before (the `readable` gate rule); other
files (images, text) leave as they are, since a checker reads them whole."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from bastide.airlock.tables import TABLE_SUFFIXES, load


def canonical(name: str, content: bytes) -> bytes:
    suffix = Path(name).suffix.lower()
    if suffix not in TABLE_SUFFIXES:
        return content
    with tempfile.TemporaryDirectory() as tmp:
        source, written = Path(tmp) / f"source{suffix}", Path(tmp) / f"canonical{suffix}"
        source.write_bytes(content)
        table = _bare(load(source))
        if suffix == ".csv":
            pa_csv.write_csv(table, written, pa_csv.WriteOptions(include_header=True, quoting_style="all_valid"))
        else:
            pq.write_table(table, written, compression="zstd", store_schema=False)
        return written.read_bytes()


def _bare(table: pa.Table) -> pa.Table:
    """The same columns and rows, without a byte of metadata."""
    fields = [pa.field(f.name, f.type, f.nullable) for f in table.schema]
    return pa.Table.from_arrays([table.column(i).combine_chunks() for i in range(table.num_columns)],
                                schema=pa.schema(fields))

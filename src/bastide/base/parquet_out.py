"""Write a staged table to encrypted Parquet files in the store, partitioned as the
architecture says (DCIR by flux month, PMSI by year), each file hashed and read back."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow.parquet as pq

from bastide.base.checks import q, select_list
from bastide.base.delivery import DeliveredFolder
from bastide.base.manifest import FileEntry
from bastide.base.profile import Profile
from bastide.errors import IntegrityError
from bastide.keys.parquet import encryption_properties
from bastide.storage import ObjectStore


@dataclass(frozen=True)
class OutputTarget:
    store: ObjectStore
    prefix: str  # base/<dataset>/<release>
    key_id: str
    key: bytes
    work: Path
    row_group_rows: int
    file_rows: int
    workers: int = 2


def _partitions(con: duckdb.DuckDBPyConnection, folder: DeliveredFolder) -> list[tuple[str | None, str]]:
    """(partition directory, WHERE clause) for each partition of the folder."""
    schema = folder.table.schema
    if schema.partitioning == "year":
        return [(f"year={folder.table.year}", "TRUE")]
    if schema.partitioning == "flx_month":
        months = [r[0] for r in con.execute(
            f"SELECT DISTINCT date_trunc('month', FLX_DIS_DTD) FROM {q(folder.name)} ORDER BY 1"
        ).fetchall()]
        # A range on the column itself, so Parquet row-group statistics prune the scan.
        return [
            (f"flx_month={m:%Y-%m}", f"FLX_DIS_DTD >= DATE '{m:%Y-%m-%d}' AND FLX_DIS_DTD < DATE '{m:%Y-%m-%d}' "
                                     "+ INTERVAL 1 MONTH") if m is not None
            else ("flx_month=__HIVE_DEFAULT_PARTITION__", "FLX_DIS_DTD IS NULL")
            for m in months
        ]
    return [(None, "TRUE")]


def write_folder(con: duckdb.DuckDBPyConnection, folder: DeliveredFolder, target: OutputTarget,
                 on_file: Callable[[FileEntry], None]) -> tuple[list[FileEntry], Profile]:
    """Write every partition; two at a time, so DuckDB's scan overlaps pyarrow's encoding. Also
    each column's profile as written (the dictionary's completeness, dates' spans, codes used:
    base/profile.py), from the batches in memory, so this costs no scan."""
    entries: list[FileEntry] = []
    profile = Profile()
    with ThreadPoolExecutor(max_workers=target.workers) as pool:
        futures = [pool.submit(_write_partition, con.cursor(), folder, target, directory, where)
                   for directory, where in _partitions(con, folder)]
        for future in futures:
            written, seen = future.result()
            profile.merge(seen)
            for entry in written:
                on_file(entry)
                entries.append(entry)
    return entries, profile


def _write_partition(cursor: duckdb.DuckDBPyConnection, folder: DeliveredFolder, target: OutputTarget,
                     directory: str | None, where: str) -> tuple[list[FileEntry], Profile]:
    schema = folder.table.schema
    base = f"{schema.name}/{directory}" if directory else schema.name
    entries: list[FileEntry] = []
    profile = Profile()
    part, writer, rows, local = 0, None, 0, None
    try:
        reader = cursor.sql(f"SELECT {select_list(schema)} FROM {q(folder.name)} WHERE {where}").to_arrow_reader(
            target.row_group_rows
        )
        for batch in reader:
            if writer is None:
                local = target.work / "out" / f"{base}/part-{part}.parquet"
                local.parent.mkdir(parents=True, exist_ok=True)
                writer = pq.ParquetWriter(local, batch.schema, compression="zstd",
                                          encryption_properties=encryption_properties(target.key_id, target.key))
            writer.write_batch(batch)
            profile.add(batch, schema)
            rows += batch.num_rows
            if rows >= target.file_rows:
                writer.close()
                entries.append(_publish(target, local, f"{base}/part-{part}.parquet", rows, schema.name, folder, directory))
                part, writer, rows = part + 1, None, 0
        if writer is not None:
            writer.close()
            entries.append(_publish(target, local, f"{base}/part-{part}.parquet", rows, schema.name, folder, directory))
    finally:
        cursor.close()
    return entries, profile


def _publish(target: OutputTarget, local: Path, relative: str, rows: int, table: str,
             folder: DeliveredFolder, partition: str | None) -> FileEntry:
    with open(local, "rb") as fh:
        digest = hashlib.file_digest(fh, "sha256").hexdigest()
    size = local.stat().st_size
    key = f"{target.prefix}/{relative}"
    target.store.put_file(local, key)
    stored, stored_size = target.store.sha256(key)
    if (stored, stored_size) != (digest, size):
        raise IntegrityError(f"{key} changed while it was written to the store", details={"file": key})
    return FileEntry(path=key, sha256=digest, size=size, rows=rows, table=table, folder=folder.name,
                     partition=partition, key_id=target.key_id)

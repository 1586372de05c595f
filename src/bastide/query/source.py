"""A published snapshot's tables as pyarrow datasets that decrypt on read (the engine queries
them in place: nothing is copied in clear). The manifest is checked against the hash the
catalogue recorded at publication, so a swapped manifest cannot widen what is read."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.dataset as ds
from sqlalchemy.orm import Session

from bastide.base import manifest
from bastide.catalogue.models import Snapshot
from bastide.errors import IntegrityError
from bastide.keys import service as key_service
from bastide.keys.base import KeyManager
from bastide.keys.parquet import decryption_properties
from bastide.storage import ObjectStore
from bastide.storage.s3 import S3Store


@dataclass(frozen=True)
class SnapshotFiles:
    snapshot: str
    files: list[manifest.FileEntry]

    def of(self, table: str, years: tuple[int, ...] = (), last_flux_month: str = "") -> list[manifest.FileEntry]:
        """The table's files; for tables partitioned by year or flux month, only those years' —
        and for flux months, also the months after them up to `last_flux_month` (`YYYY-MM`):
        care of a year is paid in the months that follow (ExtractSpec.flux_lag_months)."""
        chosen = [f for f in self.files if f.table == table]
        if years:
            chosen = [f for f in chosen if f.partition is None or _partition_year(f.partition) in years
                      or _late_flux(f.partition, years, last_flux_month)]
        return chosen

    def of_month(self, table: str, month: str) -> list[manifest.FileEntry]:
        """The files of one flux month (`YYYY-MM`) of a table partitioned by flux month."""
        return [f for f in self.files if f.table == table and f.partition == f"flx_month={month}"]

    @property
    def tables(self) -> set[str]:
        return {f.table for f in self.files}


def _late_flux(partition: str, years: tuple[int, ...], last: str) -> bool:
    """A flux month after the years and no later than `last`."""
    month = partition.removeprefix("flx_month=")
    return bool(last) and partition.startswith("flx_month=") and f"{years[-1]}-12" < month <= last


def _partition_year(partition: str) -> int | None:
    value = partition.split("=", 1)[1]
    return int(value[:4]) if value[:4].isdigit() else None


def snapshot_files(store: ObjectStore, snapshot: Snapshot) -> SnapshotFiles:
    raw = store.get_bytes(f"{snapshot.prefix}/{manifest.MANIFEST}")
    if hashlib.sha256(raw).hexdigest() != snapshot.manifest_sha256:
        raise IntegrityError(f"the manifest of {snapshot.ref} is not the one published: run `bastide base verify`")
    _body, files = manifest.parse(raw)
    return SnapshotFiles(snapshot.ref, files)


@dataclass(frozen=True)
class ParquetSource:
    """Encrypted Parquet files and the data keys that open them: a pyarrow dataset for engines in
    this process (DuckDB), the files' URIs for engines that read them themselves (Spark)."""
    dataset: ds.Dataset
    uris: list[str]
    keys: dict[str, bytes] = field(repr=False)

    @property
    def schema(self) -> pa.Schema:
        return self.dataset.schema


def file_uri(path: Path) -> str:
    """A local path as Hadoop reads it: no percent-encoding (`flx_month=…` stays as it is)."""
    return f"file://{path.resolve()}"


def uri(store: ObjectStore, key: str) -> str:
    """The object as a Hadoop filesystem URI (S3 through S3A, which the cluster must provide)."""
    if isinstance(store, S3Store):
        return f"s3a://{store.path(key)}"
    return file_uri(Path(store.path(key)))


def parquet_source(store: ObjectStore, paths: list[str], keys: dict[str, bytes],
                   schema: pa.Schema | None = None) -> ParquetSource:
    """`schema`: read the files as these columns (another year's files of the same table)."""
    fmt = ds.ParquetFileFormat(default_fragment_scan_options=ds.ParquetFragmentScanOptions(
        decryption_properties=decryption_properties(keys)))
    dataset = ds.dataset([store.path(p) for p in paths], filesystem=store.fs, format=fmt, schema=schema)
    return ParquetSource(dataset, [uri(store, p) for p in paths], keys)


def open_table(session: Session, *, store: ObjectStore, keys: KeyManager, files: list[manifest.FileEntry],
               schema: pa.Schema | None = None) -> ParquetSource:
    """The files, decrypting with their data keys (unwrapped in memory only)."""
    data_keys = {k: key_service.unwrap_key(session, keys=keys, key_id=k) for k in {f.key_id for f in files}}
    return parquet_source(store, [f.path for f in files], data_keys, schema)

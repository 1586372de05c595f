"""A published snapshot's tables as pyarrow datasets that decrypt on read (the engine queries
them in place: nothing is copied in clear). The manifest is checked against the hash the
catalogue recorded at publication, so a swapped manifest cannot widen what is read."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import pyarrow.dataset as ds
from sqlalchemy.orm import Session

from bastide.base import manifest
from bastide.catalogue.models import Snapshot
from bastide.errors import IntegrityError
from bastide.keys import service as key_service
from bastide.keys.base import KeyManager
from bastide.keys.parquet import decryption_properties
from bastide.storage import ObjectStore


@dataclass(frozen=True)
class SnapshotFiles:
    snapshot: str
    files: list[manifest.FileEntry]

    def of(self, table: str, years: tuple[int, ...] = ()) -> list[manifest.FileEntry]:
        """The table's files; for tables partitioned by year or flux month, only those years'."""
        chosen = [f for f in self.files if f.table == table]
        if years:
            chosen = [f for f in chosen if f.partition is None or _partition_year(f.partition) in years]
        return chosen

    @property
    def tables(self) -> set[str]:
        return {f.table for f in self.files}


def _partition_year(partition: str) -> int | None:
    value = partition.split("=", 1)[1]
    return int(value[:4]) if value[:4].isdigit() else None


def snapshot_files(store: ObjectStore, snapshot: Snapshot) -> SnapshotFiles:
    raw = store.get_bytes(f"{snapshot.prefix}/{manifest.MANIFEST}")
    if hashlib.sha256(raw).hexdigest() != snapshot.manifest_sha256:
        raise IntegrityError(f"the manifest of {snapshot.ref} is not the one published: run `bastide base verify`")
    _body, files = manifest.parse(raw)
    return SnapshotFiles(snapshot.ref, files)


def open_table(session: Session, *, store: ObjectStore, keys: KeyManager, files: list[manifest.FileEntry]) -> ds.Dataset:
    """A dataset over the files, decrypting with their data keys (unwrapped in memory only)."""
    data_keys = {k: key_service.unwrap_key(session, keys=keys, key_id=k) for k in {f.key_id for f in files}}
    fmt = ds.ParquetFileFormat(default_fragment_scan_options=ds.ParquetFragmentScanOptions(
        decryption_properties=decryption_properties(data_keys)))
    return ds.dataset([store.path(f.path) for f in files], filesystem=store.fs, format=fmt)

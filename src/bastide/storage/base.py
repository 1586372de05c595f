"""The ObjectStore protocol and the code both implementations share.

Keys are `/`-separated paths relative to the store's root (ARCHITECTURE.md §3). Both
implementations sit on `pyarrow.fs`, so a pyarrow dataset (and DuckDB through it) reads
the same keys on a laptop folder and on a SecNumCloud provider's S3 bucket.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import pyarrow.fs as pafs

from bastide.errors import InvalidInput, StorageError

if TYPE_CHECKING:
    from bastide.config import Settings

CHUNK = 8 * 1024 * 1024


@dataclass(frozen=True)
class ObjectInfo:
    key: str
    size: int
    mtime_ns: int | None = None  # when the store says (a backup skips objects unchanged since the last)


class ObjectStore(Protocol):
    url: str
    fs: pafs.FileSystem

    def path(self, key: str) -> str: ...
    def put_file(self, local: Path, key: str) -> None: ...
    def put_bytes(self, key: str, data: bytes) -> None: ...
    def get_bytes(self, key: str) -> bytes: ...
    def reading(self, key: str): ...
    def writing(self, key: str): ...
    def exists(self, key: str) -> bool: ...
    def list(self, prefix: str) -> list[ObjectInfo]: ...
    def delete(self, key: str) -> None: ...
    def delete_prefix(self, prefix: str) -> int: ...
    def sha256(self, key: str) -> tuple[str, int]: ...
    def check(self) -> None: ...


def _clean_key(key: str) -> str:
    parts = key.strip("/").split("/")
    if not key.strip("/") or any(p in ("", ".", "..") for p in parts):
        raise InvalidInput(f"invalid object key {key!r}")
    return "/".join(parts)


class ArrowStore:
    """Shared behaviour over a pyarrow filesystem rooted at `root`."""

    def __init__(self, url: str, fs: pafs.FileSystem, root: str):
        self.url, self.fs, self.root = url, fs, root.rstrip("/")

    def path(self, key: str) -> str:
        return f"{self.root}/{_clean_key(key)}"

    @contextmanager
    def _errors(self, doing: str) -> Iterator[None]:
        try:
            yield
        except FileNotFoundError as exc:
            raise StorageError(f"{doing}: not found in the store {self.url}", code="not_found") from exc
        except OSError as exc:
            raise StorageError(f"{doing} failed on the store {self.url}: {_short(exc)}") from exc

    def put_bytes(self, key: str, data: bytes) -> None:
        with self._errors(f"writing {key}"), self.fs.open_output_stream(self.path(key)) as out:
            out.write(data)

    def get_bytes(self, key: str) -> bytes:
        with self._errors(f"reading {key}"), self.fs.open_input_stream(self.path(key)) as src:
            return src.read()

    @contextmanager
    def writing(self, key: str) -> Iterator:
        """A stream that writes the object as it goes. The object may be seen once the stream
        closes, even if its writer failed midway (S3 completes an upload on close): what needs
        all or nothing writes a key that something written last makes valid (backups), or
        uses put_file."""
        with self._errors(f"writing {key}"), self.fs.open_output_stream(self.path(key)) as out:
            yield out

    @contextmanager
    def reading(self, key: str) -> Iterator:
        """The object as a stream, read as it is used (never whole in memory)."""
        with self._errors(f"reading {key}"), self.fs.open_input_stream(self.path(key)) as src:
            yield src

    def exists(self, key: str) -> bool:
        with self._errors(f"looking up {key}"):
            return self.fs.get_file_info(self.path(key)).type == pafs.FileType.File

    def list(self, prefix: str) -> list[ObjectInfo]:
        """The objects under `prefix` ("" for the whole store), by key."""
        base = self.path(prefix) if prefix else self.root
        with self._errors(f"listing {prefix}"):
            if self.fs.get_file_info(base).type != pafs.FileType.Directory:
                return []
            # allow_not_found: an object store's "folder" is only its objects' common prefix, and
            # SeaweedFS may still answer Directory for it just after its last object went
            infos = self.fs.get_file_info(pafs.FileSelector(base, recursive=True, allow_not_found=True))
        return sorted(
            (ObjectInfo(i.path[len(self.root) + 1 :], i.size, i.mtime_ns) for i in infos if i.type == pafs.FileType.File),
            key=lambda o: o.key,
        )

    def delete(self, key: str) -> None:
        with self._errors(f"deleting {key}"):
            self.fs.delete_file(self.path(key))

    def delete_prefix(self, prefix: str) -> int:
        objects = self.list(prefix)
        with self._errors(f"deleting {prefix}"):
            if objects:
                self.fs.delete_dir(self.path(prefix))
        return len(objects)

    def sha256(self, key: str) -> tuple[str, int]:
        digest, size = hashlib.sha256(), 0
        with self._errors(f"reading {key}"), self.fs.open_input_stream(self.path(key)) as src:
            while chunk := src.read(CHUNK):
                digest.update(chunk)
                size += len(chunk)
        return digest.hexdigest(), size


def _short(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text[:300]


def within(url: str, root: str) -> bool:
    """Whether the folder or s3:// prefix `url` is `root` or lies inside it."""
    if url.startswith("s3://") != root.startswith("s3://"):
        return False
    if url.startswith("s3://"):
        a, b = url.removeprefix("s3://").strip("/"), root.removeprefix("s3://").strip("/")
    else:
        a, b = str(Path(url).resolve()), str(Path(root).resolve())
    return a == b or a.startswith(b + "/")


def open_store(settings: Settings) -> ObjectStore:
    return store_at(settings.resolved_store_url, settings)


def store_at(url: str, settings: Settings, *, backup: bool = False) -> ObjectStore:
    """The store at `url` (a folder, or s3://bucket/prefix on the settings' S3 endpoint, or on the
    backup endpoint when `backup` and one is set: backups belong on another provider's servers)."""
    if url.startswith("s3://"):
        from bastide.storage.s3 import S3Store, s3_filesystem

        return S3Store(url, s3_filesystem(settings, backup=backup))
    if "://" in url:
        raise InvalidInput(f"{url!r} is neither a folder nor s3://bucket/prefix")
    from bastide.storage.local import LocalStore

    return LocalStore(Path(url))

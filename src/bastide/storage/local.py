"""The embedded object store: a folder on the local disk."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pyarrow.fs as pafs

from bastide.storage.base import ArrowStore


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class LocalStore(ArrowStore):
    def __init__(self, root: Path):
        root = Path(root).resolve()
        super().__init__(str(root), pafs.LocalFileSystem(), str(root))
        self.base = root

    def put_file(self, local: Path, key: str) -> None:
        """Move (or copy across devices) a finished file into place, durably."""
        target = Path(self.path(key))
        with self._errors(f"writing {key}"):
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.replace(local, target)
            except OSError:
                shutil.copyfile(local, target)
                Path(local).unlink()
            with open(target, "rb+") as fh:
                os.fsync(fh.fileno())
            _fsync_dir(target.parent)

    def put_bytes(self, key: str, data: bytes) -> None:
        target = Path(self.path(key))
        with self._errors(f"writing {key}"):
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = target.with_name(f".{target.name}.tmp")
            with open(tmp, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, target)
            _fsync_dir(target.parent)

    @contextmanager
    def writing(self, key: str) -> Iterator:
        """The object written as it goes, on disk when the stream closes (as put_file's are)."""
        target = Path(self.path(key))
        with self._errors(f"writing {key}"):
            target.parent.mkdir(parents=True, exist_ok=True)
            with open(target, "wb") as out:
                yield out
                out.flush()
                os.fsync(out.fileno())

    def check(self) -> None:
        with self._errors("checking the store"):
            self.base.mkdir(parents=True, exist_ok=True)
            if not os.access(self.base, os.W_OK):
                raise PermissionError(f"{self.base} is not writable")

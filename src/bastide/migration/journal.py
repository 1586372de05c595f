"""What a migration has done, kept beside the source so a run killed at any point (kill -9)
resumes where it stopped: one JSON line per object copied and verified on the target, handed to
the system before the object counts as moved (a killed process loses none; fsync'd every 256
objects and at the end of each pass, so a machine that stops loses at most those, copied
again); and, before a pass starts, the keys it is about to write (a killed run may leave one
written but not yet counted: it is ours, and is copied again, where an object nobody meant to
write is another's data)."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

SYNC_EVERY = 256  # objects journaled between two fsyncs: one per object was most of a migration's time


class Journal:
    def __init__(self, path: Path):
        self.path = path
        self._lock = threading.Lock()
        self.objects: dict[str, dict] = {}
        self.marks: set[str] = set()
        self.intended: set[str] = set()
        self._file, self._unsynced = None, 0
        if path.exists():
            self._read()

    def _read(self) -> None:
        for line in self.path.read_text().splitlines():
            try:
                entry = json.loads(line)
            except ValueError:  # the line a kill cut short: its object is copied again
                continue
            self._note(entry)

    def _note(self, entry: dict) -> None:
        if "mark" in entry:
            self.marks.add(entry["mark"])
        elif "intend" in entry:
            self.intended.update(entry["intend"])
        else:
            self.objects[entry["key"]] = entry

    def _append(self, entry: dict, *, sync: bool = True) -> None:
        with self._lock:
            if self._file is None:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self._file = open(self.path, "a")  # noqa: SIM115 - kept open across a pass
            self._file.write(json.dumps(entry, separators=(",", ":")) + "\n")
            self._file.flush()  # in the system's hands: a killed process loses nothing written
            self._unsynced += 1
            if sync:
                self._close()
            elif self._unsynced >= SYNC_EVERY:
                os.fsync(self._file.fileno())
                self._unsynced = 0
            self._note(entry)

    def _close(self) -> None:
        os.fsync(self._file.fileno())
        self._file.close()
        self._file, self._unsynced = None, 0

    def sync(self) -> None:
        """On disk now (a machine that stops loses at most what came after: copied again)."""
        with self._lock:
            if self._file is not None:
                self._close()

    def moved(self, key: str, size: int, sha256: str) -> None:
        self._append({"key": key, "size": size, "sha256": sha256}, sync=False)

    def intend(self, keys: list[str]) -> None:
        self._append({"intend": keys})

    def mark(self, name: str) -> None:
        self._append({"mark": name})

"""What a migration has done, kept beside the source so a run killed at any point (kill -9)
resumes where it stopped: one JSON line per object copied and verified on the target, written
and flushed to disk before the object counts as moved; and, before a pass starts, the keys it
is about to write (a killed run may leave one written but not yet counted: it is ours, and is
copied again, where an object nobody meant to write is another's data)."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path


class Journal:
    def __init__(self, path: Path):
        self.path = path
        self._lock = threading.Lock()
        self.objects: dict[str, dict] = {}
        self.marks: set[str] = set()
        self.intended: set[str] = set()
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

    def _append(self, entry: dict) -> None:
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with open(self.path, "a") as fh:
                fh.write(json.dumps(entry, separators=(",", ":")) + "\n")
                fh.flush()
                os.fsync(fh.fileno())
            self._note(entry)

    def moved(self, key: str, size: int, sha256: str) -> None:
        self._append({"key": key, "size": size, "sha256": sha256})

    def intend(self, keys: list[str]) -> None:
        self._append({"intend": keys})

    def mark(self, name: str) -> None:
        self._append({"mark": name})

"""A backup holds whole snapshots: every published snapshot of its metadata has its signed
manifest, and every file the manifest lists, with the hash the manifest says and the Merkle
root the catalogue recorded (the same checks as `bastide base verify`, on the backup's copy)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable

from bastide.base import manifest


def check_snapshots(snapshots: list[dict], objects: dict[str, dict], read: Callable[[str], bytes]) -> list[str]:
    """What is wrong with the snapshots in `objects` (key -> {sha256, size}); `read` gives an
    object's bytes (from the store while backing up, from the backup when verifying it)."""
    problems = []
    for snapshot in snapshots:
        if not snapshot.get("manifest_sha256"):
            continue  # never published (rejected, or an ingest under way): nothing was promised
        problems += _check_one(snapshot, objects, read)
    return problems


def _check_one(snapshot: dict, objects: dict[str, dict], read: Callable[[str], bytes]) -> list[str]:
    prefix = snapshot["prefix"]
    key = f"{prefix}/{manifest.MANIFEST}"
    entry = objects.get(key)
    if entry is None or f"{prefix}/{manifest.SIGNATURE}" not in objects:
        return [f"snapshot {prefix}: its signed manifest is not in the backup"]
    if entry["sha256"] != snapshot["manifest_sha256"]:
        return [f"snapshot {prefix}: its manifest is not the one the catalogue recorded"]
    raw = read(key)
    if hashlib.sha256(raw).hexdigest() != snapshot["manifest_sha256"]:
        return [f"snapshot {prefix}: its manifest changed while it was read"]
    _, files = manifest.parse(raw)
    problems = [f"snapshot {prefix}: {f.path} is missing or differs" for f in files
                if (objects.get(f.path) or {}).get("sha256") != f.sha256]
    if manifest.merkle_root(files) != snapshot["merkle_root"]:
        problems.append(f"snapshot {prefix}: its Merkle root is not the one the catalogue recorded")
    return problems

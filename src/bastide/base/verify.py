"""Re-read every file of a snapshot, recompute hashes and the Merkle root, check the signature."""

from __future__ import annotations

import hashlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from bastide.audit.actions import AuditAction
from bastide.audit.service import record
from bastide.base import manifest
from bastide.catalogue import service as catalogue
from bastide.errors import StorageError
from bastide.keys.signing import signature_valid
from bastide.platform import Platform
from bastide.statemachine import Actor


@dataclass
class VerifyReport:
    ref: str
    files: int = 0
    bytes: int = 0
    signature_ok: bool = False
    manifest_ok: bool = False
    merkle_ok: bool = False
    changed: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.signature_ok and self.manifest_ok and self.merkle_ok and not (self.changed or self.missing or self.extra)

    def to_dict(self) -> dict:
        return {"snapshot": self.ref, "ok": self.ok, "files": self.files, "bytes": self.bytes,
                "signature_ok": self.signature_ok, "manifest_ok": self.manifest_ok, "merkle_ok": self.merkle_ok,
                "changed": self.changed, "missing": self.missing, "extra": self.extra}


def _hash_one(store, entry: manifest.FileEntry) -> tuple[manifest.FileEntry, str | None, int]:
    try:
        digest, size = store.sha256(entry.path)
    except StorageError as exc:
        if exc.code == "not_found":
            return entry, None, 0
        raise
    return entry, digest, size


def verify_snapshot(platform: Platform, *, actor: Actor, ref: str, workers: int = 4) -> VerifyReport:
    with platform.db.unit_of_work() as session:
        snapshot = catalogue.get_snapshot(session, ref)
        prefix, expected_manifest, expected_root = snapshot.prefix, snapshot.manifest_sha256, snapshot.merkle_root
    report = VerifyReport(ref)
    store = platform.store
    try:
        raw = store.get_bytes(f"{prefix}/{manifest.MANIFEST}")
        signature = store.get_bytes(f"{prefix}/{manifest.SIGNATURE}")
    except StorageError:
        report.missing.append(f"{prefix}/{manifest.MANIFEST}")
        _record(platform, actor, report)
        return report
    report.signature_ok = signature_valid(platform.signer.public_pem(), raw, signature)
    report.manifest_ok = hashlib.sha256(raw).hexdigest() == expected_manifest
    body, entries = manifest.parse(raw)
    report.merkle_ok = manifest.merkle_root(entries) == body["merkle_root"] == expected_root
    with ThreadPoolExecutor(max_workers=workers) as pool:  # hashlib releases the GIL
        for entry, digest, size in pool.map(lambda e: _hash_one(store, e), entries):
            report.files += 1
            report.bytes += size
            if digest is None:
                report.missing.append(entry.path)
            elif (digest, size) != (entry.sha256, entry.size):
                report.changed.append(entry.path)
    listed = {e.path for e in entries} | {f"{prefix}/{manifest.MANIFEST}", f"{prefix}/{manifest.SIGNATURE}"}
    report.extra = [o.key for o in store.list(prefix) if o.key not in listed]
    _record(platform, actor, report)
    return report


def _record(platform: Platform, actor: Actor, report: VerifyReport) -> None:
    with platform.db.unit_of_work() as session:
        record(session, actor=actor, action=AuditAction.SNAPSHOT_VERIFY, target=f"snapshot:{report.ref}",
               details={"ok": report.ok, "changed": report.changed[:20], "missing": report.missing[:20],
                        "extra": report.extra[:20], "signature_ok": report.signature_ok})

"""Check a release folder offline (AUD-09): its RELEASE.json is signed by the platform, and every
file it lists is there, unchanged; nothing else is."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from bastide.airlock.record import FORMAT, RECORD
from bastide.keys.signing import BadSignature, verify_document


@dataclass
class Verdict:
    release: str | None = None
    signature_ok: bool = False
    problem: str | None = None
    changed: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.signature_ok and not (self.changed or self.missing or self.extra)


def verify_release(folder: Path, *, public_pem: str) -> Verdict:
    verdict = Verdict()
    record = folder / RECORD
    if not record.is_file():
        verdict.problem = f"{folder} holds no {RECORD}: not a release folder"
        return verdict
    try:
        document = verify_document(record.read_text(encoding="utf-8"), public_pem=public_pem, format=FORMAT)
    except (BadSignature, UnicodeDecodeError) as exc:
        verdict.problem = f"{RECORD}: {exc}"
        return verdict
    verdict.release, verdict.signature_ok = document["release"], True
    listed = {f["name"]: f["sha256"] for f in document["files"]}
    for name, digest in sorted(listed.items()):
        path = folder / name
        if not path.is_file():
            verdict.missing.append(name)
        elif hashlib.sha256(path.read_bytes()).hexdigest() != digest:
            verdict.changed.append(name)
    verdict.extra = sorted(p.name for p in folder.iterdir() if p.name != RECORD and p.name not in listed)
    return verdict

"""MANIFEST.json: what a snapshot holds, hashed into a Merkle root and signed (Ed25519).

Leaves are SHA-256(0x00 || path || 0x00 || file sha256), sorted by path; a node is
SHA-256(0x01 || left || right); an odd node is carried up unchanged. The signature
covers the exact bytes of MANIFEST.json, so anyone with the public key can check it
(`openssl pkeyutl -verify -pubin -inkey bastide.pub -rawin -in MANIFEST.json -sigfile MANIFEST.json.sig`).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass

MANIFEST = "MANIFEST.json"
SIGNATURE = "MANIFEST.json.sig"
FORMAT = "bastide-manifest/1"


@dataclass(frozen=True)
class FileEntry:
    path: str  # key relative to the store root (may point into an earlier snapshot when reused)
    sha256: str
    size: int
    rows: int
    table: str
    folder: str
    partition: str | None
    key_id: str


def merkle_root(files: list[FileEntry]) -> str:
    level = [
        hashlib.sha256(b"\x00" + f.path.encode() + b"\x00" + bytes.fromhex(f.sha256)).digest()
        for f in sorted(files, key=lambda f: f.path)
    ]
    if not level:
        return hashlib.sha256(b"").hexdigest()
    while len(level) > 1:
        nxt = [hashlib.sha256(b"\x01" + level[i] + level[i + 1]).digest() for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            nxt.append(level[-1])
        level = nxt
    return level[0].hex()


def build(*, dataset: str, release: str, files: list[FileEntry], tables: dict, sources: dict,
          schema_hashes: dict, quarantined: dict) -> bytes:
    files = sorted(files, key=lambda f: f.path)
    body = {
        "format": FORMAT,
        "dataset": dataset,
        "release": release,
        "merkle_root": merkle_root(files),
        "tables": {name: {**tables[name], "schema_hash": schema_hashes[name]} for name in sorted(tables)},
        "sources": {name: sources[name] for name in sorted(sources)},
        "quarantined_rows": dict(sorted(quarantined.items())),
        "files": [asdict(f) for f in files],
    }
    return (json.dumps(body, indent=1, sort_keys=True, ensure_ascii=False) + "\n").encode()


def parse(raw: bytes) -> tuple[dict, list[FileEntry]]:
    body = json.loads(raw)
    if body.get("format") != FORMAT:
        raise ValueError(f"unknown manifest format {body.get('format')!r}")
    return body, [FileEntry(**f) for f in body["files"]]

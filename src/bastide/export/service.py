"""Reversibility (issue 17, item 4; SOV-07: all customer data and produced data exportable in
documented formats): everything the platform holds, written to a folder in open formats that
another product can take up without Bastide — Parquet, JSON, CSV, PEM, HealthDCAT-AP Turtle —
with a README of the layout and a signed list of every file's SHA-256.

What does not leave: secrets (password and token hashes, wrapped keys, second-factor secrets,
session tokens: a new platform enrols its people again) and what only the airlock may let out
(workspaces' extracts and outputs never released: an extract is rebuilt from its snapshot and
permit; an unreleased output leaves through a release or not at all). The snapshots leave
decrypted: whoever runs an export holds the whole base in clear, so it is an operator's act,
audited, into a folder that must be new (docs/operations.md says where to put it).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow.parquet as pq
from sqlalchemy import select

import bastide.models  # noqa: F401 - every domain's tables in the metadata
from bastide.airlock.models import Release
from bastide.audit.actions import AuditAction
from bastide.audit.checkpoints import export as checkpoints_export
from bastide.audit.checkpoints import published
from bastide.audit.models import AuditEvent
from bastide.audit.service import record
from bastide.base import manifest
from bastide.catalogue import dcat
from bastide.catalogue.models import Dataset, Snapshot
from bastide.db import Base, utcnow
from bastide.errors import Conflict, InvalidInput
from bastide.governance import register
from bastide.governance.models import Permit
from bastide.governance.permits import export as permit_file
from bastide.keys.parquet import decryption_properties
from bastide.keys.service import unwrap_key
from bastide.keys.signing import document_file, sign_document
from bastide.platform import Platform
from bastide.statemachine import Actor
from bastide.storage import within

FORMAT = "bastide-export/1"
# never exported: they would let someone sign in, or open what a key protects
SECRET_COLUMNS = {"password_hash", "mfa_secret_wrapped", "recovery_hashes", "activation_hash", "token_hash", "wrapped"}
SECRET_TABLES = {"web_session", "login_throttle"}
BATCH = 64_000  # rows at a time, of a snapshot file decrypted or a table written (memory stays bounded)


@dataclass
class Exported:
    folder: Path
    files: dict[str, str] = field(default_factory=dict)  # relative path -> sha256
    bytes: int = 0
    counts: dict[str, int] = field(default_factory=dict)


def export(platform: Platform, *, actor: Actor, folder: Path, progress: Callable[[str], None] | None = None) -> Exported:
    if within(str(folder), platform.settings.resolved_store_url):
        raise InvalidInput(f"{folder} is inside the platform's store: an export goes outside it")
    if folder.exists() and any(folder.iterdir()):
        raise Conflict(f"{folder} is not empty: an export goes into a new folder", code="target_not_empty")
    out = Exported(folder)
    with platform.db.unit_of_work() as session:
        record(session, actor=actor, action=AuditAction.PLATFORM_EXPORT, target="platform",
               details={"folder": str(folder.resolve())})
    steps = (("metadata", _metadata), ("audit", _audit), ("catalogue", _catalogue), ("permits", _permits),
             ("register", _register), ("snapshots", _snapshots), ("releases", _releases))
    for name, step in steps:
        if progress:
            progress(name)
        step(platform, out)
    _write(out, "public-key.pem", platform.signer.public_pem().encode())
    _write(out, "README.md", (Path(__file__).parent / "README.export.md").read_bytes())
    document = {"format": FORMAT, "exported_at": utcnow().isoformat(), "counts": out.counts, "files": out.files}
    _, signature = sign_document(platform.signer, document)
    (folder / "EXPORT.json").write_text(document_file(document, signature, platform.signer.public_pem()))
    (folder / "SHA256SUMS").write_text("".join(f"{digest}  {path}\n" for path, digest in sorted(out.files.items())))
    return out


def _write(out: Exported, relative: str, content: bytes) -> None:
    path = out.folder / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    _count(out, relative, path)


def _write_lines(out: Exported, relative: str, rows: Iterable[dict]) -> int:
    """Rows as JSON lines, written as they come (the audit trail of years is not held in memory)."""
    path, count = out.folder / relative, 0
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False, default=str, separators=(",", ":")).encode() + b"\n")
            count += 1
    _count(out, relative, path)
    return count


def _count(out: Exported, relative: str, path: Path) -> None:
    with open(path, "rb") as fh:
        out.files[relative] = hashlib.file_digest(fh, "sha256").hexdigest()
    out.bytes += path.stat().st_size


def _metadata(platform: Platform, out: Exported) -> None:
    """Every workflow table as JSON lines (applications, permits, calls, workspaces, releases…)."""
    with platform.db.engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            if table.name in SECRET_TABLES or table.name.startswith("audit_"):
                continue
            columns = [c for c in table.columns if c.name not in SECRET_COLUMNS]
            query = select(*columns).order_by(*table.primary_key.columns)
            rows = conn.execution_options(yield_per=BATCH).execute(query)
            out.counts[f"metadata/{table.name}"] = _write_lines(out, f"metadata/{table.name}.jsonl",
                                                                (dict(r._mapping) for r in rows))


def _audit(platform: Platform, out: Exported) -> None:
    """The chain with its hashes (anyone can re-link it) and the signed checkpoints."""
    with platform.db.unit_of_work() as session:
        query = select(AuditEvent).order_by(AuditEvent.id).execution_options(yield_per=BATCH)
        events = session.execute(query).scalars()
        out.counts["audit events"] = _write_lines(out, "audit/events.jsonl", (
            {"id": e.id, "at": e.at.isoformat(timespec="microseconds"), "actor": e.actor, "action": e.action,
             "target": e.target, "details": e.details, "prev_hash": e.prev_hash, "hash": e.hash} for e in events))
        _write(out, "audit/checkpoints.json", checkpoints_export(published(session), platform.signer.public_pem()).encode())


def _catalogue(platform: Platform, out: Exported) -> None:
    settings = platform.settings
    with platform.db.unit_of_work() as session:
        for dataset in session.execute(select(Dataset)).scalars():
            _write(out, f"catalogue/{dataset.name}.ttl", dcat.export(
                dataset, fmt="turtle", base_iri=settings.catalogue_base_iri, publisher=settings.catalogue_publisher,
                email=settings.catalogue_contact_email, namespace=settings.healthdcatap_namespace).encode())


def _permits(platform: Platform, out: Exported) -> None:
    with platform.db.unit_of_work() as session:
        permits = session.execute(select(Permit).order_by(Permit.id)).scalars().all()
        for permit in permits:
            _write(out, f"permits/{permit.reference}.json", permit_file(permit, platform.signer.public_pem()).encode())
        out.counts["permits"] = len(permits)


def _register(platform: Platform, out: Exported) -> None:
    with platform.db.unit_of_work() as session:
        _write(out, "register.csv", register.to_csv(register.entries(session)).encode())


def _snapshots(platform: Platform, out: Exported) -> None:
    """Each published snapshot: its signed manifest as kept (it hashes the encrypted files) and
    its files decrypted into plain Parquet, table by table, in the layout they were delivered."""
    with platform.db.unit_of_work() as session:
        snapshots = [(s.dataset.name, s.release, s.prefix) for s in session.execute(
            select(Snapshot).where(Snapshot.merkle_root.is_not(None)).order_by(Snapshot.id)).scalars()]
    for dataset, release, prefix in snapshots:
        where = f"snapshots/{dataset}/{release}"
        raw = platform.store.get_bytes(f"{prefix}/{manifest.MANIFEST}")
        _write(out, f"{where}/{manifest.MANIFEST}", raw)
        _write(out, f"{where}/{manifest.SIGNATURE}", platform.store.get_bytes(f"{prefix}/{manifest.SIGNATURE}"))
        _, entries = manifest.parse(raw)
        keys = _keys(platform, {e.key_id for e in entries})
        for entry in entries:
            relative = "/".join(entry.path.split("/")[3:])  # base/<dataset>/<release>/<table>/…
            _decrypt(platform, entry, keys, out, f"{where}/{relative}")
        out.counts[f"snapshot {dataset}@{release}"] = len(entries)


def _keys(platform: Platform, key_ids: set[str]) -> dict[str, bytes]:
    with platform.db.unit_of_work() as session:
        return {k: unwrap_key(session, keys=platform.keys, key_id=k) for k in key_ids}


def _decrypt(platform: Platform, entry: manifest.FileEntry, keys: dict, out: Exported, relative: str) -> None:
    target = out.folder / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    properties = decryption_properties({entry.key_id: keys[entry.key_id]})
    with pq.ParquetFile(platform.store.path(entry.path), filesystem=platform.store.fs,
                        decryption_properties=properties) as parquet, \
            pq.ParquetWriter(target, parquet.schema_arrow, compression="zstd") as writer:
        for batch in parquet.iter_batches(batch_size=BATCH):
            writer.write_batch(batch)
    _count(out, relative, target)


def _releases(platform: Platform, out: Exported) -> None:
    """What left through the airlock, as it left (files and signed record); never anything else
    of a workspace."""
    with platform.db.unit_of_work() as session:
        releases = [(r.reference, r.prefix) for r in session.execute(select(Release).order_by(Release.id)).scalars()]
    for reference, prefix in releases:
        for info in platform.store.list(prefix):
            _write(out, f"releases/{reference}/{info.key[len(prefix) + 1:]}", platform.store.get_bytes(info.key))
    out.counts["releases"] = len(releases)

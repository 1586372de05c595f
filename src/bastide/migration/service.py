"""Moving a whole platform to another deployment (issue 17, item 3; SOV-07 reversibility): from
SQLite and a folder to PostgreSQL and S3, from one S3 provider to another, from key files to an
HSM — the move the Health Data Hub makes to a SecNumCloud provider, and the next one.

The source is only read, and stays usable throughout. Objects are copied first, while the
source still works (a run may be repeated as often as wanted: each copies what is new), each
one hashed on the way and read back from the target before the journal counts it moved. Then,
with the source's server stopped, a last run copies what was written meanwhile, loads the
metadata in one transaction — every data key and second-factor secret unwrapped by the source's
master key and wrapped by the target's in this process, never written anywhere in clear —
checks every snapshot's files and Merkle root and the audit chain on the target, and writes a
transfer report signed by the platform's key, which the data holder checks offline.
"""

from __future__ import annotations

import hashlib
import time
import zlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from bastide.audit.actions import AuditAction
from bastide.audit.service import record
from bastide.backup import metadata
from bastide.backup.snapshots import check_snapshots
from bastide.db import utcnow
from bastide.errors import ConfigError, Conflict, IntegrityError
from bastide.identity.service import totp_key_id_of
from bastide.keys.signing import document_file, sign_document
from bastide.migration.journal import Journal
from bastide.platform import Platform
from bastide.statemachine import Actor
from bastide.storage import ObjectInfo

REPORT_FORMAT = "bastide-transfer/1"
WORKERS = 4
CHUNK = 1 << 20
DELTA_PASSES = 5  # a pass copies what the previous ones missed; a busy source may need several
LOADED = "metadata loaded"


@dataclass
class Phase:
    objects: int = 0
    bytes: int = 0
    seconds: float = 0.0


@dataclass
class Moved:
    id: str
    passes: list[Phase] = field(default_factory=list)
    report: dict | None = None  # the signed transfer report, once the metadata is moved
    report_path: Path | None = None

    @property
    def copied(self) -> Phase:
        return Phase(sum(p.objects for p in self.passes), sum(p.bytes for p in self.passes),
                     sum(p.seconds for p in self.passes))


def describe(platform: Platform) -> dict:
    """Where a deployment is, without credentials (what a report may show)."""
    url = platform.db.engine.url
    return {"database": url.get_backend_name(), "database_name": url.database if url.get_backend_name() != "sqlite"
            else "sqlite", "host": url.host, "store": platform.store.url, "key_backend": platform.keys.backend,
            "master_key": platform.keys.location, "signing_key": platform.signer.location}


def migration_id(target: Platform) -> str:
    where = describe(target)
    return hashlib.sha256(f"{where['database']} {where['host']} {where['database_name']} {where['store']}".encode()
                          ).hexdigest()[:16]


def migrate(source: Platform, target: Platform, *, actor: Actor, journal_dir: Path, objects_only: bool = False,
            progress: Callable[[str, int, int], None] | None = None) -> Moved:
    began = time.monotonic()
    moved = Moved(migration_id(target))
    journal = Journal(journal_dir / f"{moved.id}.jsonl")
    _check_target(target, journal)
    _check_keys(source, target)
    _copy_until_quiet(source, target, journal, moved, progress)
    if objects_only:
        return moved
    with source.scratch("migrate") as tmp:
        dump = tmp / "metadata.jsonl.gz"
        with open(dump, "wb") as out:
            dumped_at = utcnow()
            info = metadata.dump(source.db, out)
        _copy_until_quiet(source, target, journal, moved, progress)  # what was written before the dump
        snapshots = metadata.rows_of(dump, "snapshot")
        problems = check_snapshots(snapshots, journal.objects, target.store.get_bytes)
        if problems:
            raise IntegrityError(f"the target does not hold the source's snapshots whole: {problems[0]}",
                                 details={"problems": problems})
        journal.mark(f"{LOADED} started")
        with open(dump, "rb") as source_dump:
            loaded = metadata.load(target.db, source_dump, change=_rewrapping(source, target))
        with open(dump, "rb") as fh:
            dump_sha256 = hashlib.file_digest(fh, "sha256").hexdigest()
    journal.mark(LOADED)
    checks = _check_target_whole(target, actor, snapshots)
    moved.report = _report(source, target, moved, journal, info, loaded.rows, dump_sha256, dumped_at, checks,
                           time.monotonic() - began)
    body_sig = sign_document(target.signer, moved.report)[1]
    moved.report_path = journal_dir / f"{moved.id}-report.json"
    moved.report_path.write_text(document_file(moved.report, body_sig, target.signer.public_pem()))
    digest = hashlib.sha256(moved.report_path.read_bytes()).hexdigest()
    for side, other in ((target, {"from": describe(source)}), (source, {"to": describe(target)})):
        with side.db.unit_of_work() as session:
            record(session, actor=actor, action=AuditAction.PLATFORM_MIGRATE, target="platform",
                   details={**other, "report_sha256": digest, "objects": len(journal.objects)})
    return moved


# -- keys ----------------------------------------------------------------------------------------


def _check_keys(source: Platform, target: Platform) -> None:
    """The target signs with the platform's signing key (every manifest, permit and checkpoint
    must still verify): it holds the same one, or receives it now from the source's key file.
    Its master key is its own (made if missing): every wrapped key is wrapped again under it."""
    target.keys.ensure_master_key()
    try:
        present = target.signer.public_pem()
    except ConfigError:  # no key yet: it is given below
        present = None
    if present == source.signer.public_pem():
        return
    if present is not None:
        raise ConfigError(f"the target's signing key {target.signer.location} is not the platform's: the target "
                          "must sign with the key the source signed with (remove the other one)")
    private = getattr(source.signer, "private_key", None)
    if private is None:
        raise ConfigError(f"the signing key cannot leave the HSM ({source.signer.location}): give the target the "
                          "same token, or a clone of it made with the HSM's own tools")
    target.signer.import_key(private())


def _rewrapping(source: Platform, target: Platform) -> dict:
    def data_key(row: dict) -> dict:
        if row["wrapped"] is not None:
            row["wrapped"] = target.keys.wrap(row["id"], source.keys.unwrap(row["id"], row["wrapped"]))
            row["backend"] = target.keys.backend
        return row

    def user(row: dict) -> dict:
        if row.get("mfa_secret_wrapped") is not None:
            key_id = totp_key_id_of(row["email"])
            row["mfa_secret_wrapped"] = target.keys.wrap(key_id, source.keys.unwrap(key_id, row["mfa_secret_wrapped"]))
        return row

    return {"data_key": data_key, "user_account": user}


# -- objects -------------------------------------------------------------------------------------


def _check_target(target: Platform, journal: Journal) -> None:
    """The target holds nothing but what this migration put there (then it resumes)."""
    if LOADED in journal.marks:
        raise Conflict("this migration is finished: its target holds the platform (start the server on it)",
                       code="migration_finished")
    try:
        metadata.check_empty(target.db)
    except Conflict:
        if f"{LOADED} started" not in journal.marks:
            raise
        raise Conflict("a run stopped just after it loaded the target's database: make the target database new "
                       "and empty, then run again (the objects already moved stay)", code="target_not_empty") from None
    _check_target_store(target, journal)


def _check_target_store(target: Platform, journal: Journal) -> None:
    target.store.check()
    for info in target.store.list(""):
        entry = journal.objects.get(info.key)
        ours = info.key in journal.intended  # written by a run killed before it counted it: copied again
        if not ours and (entry is None or entry["size"] != info.size):
            raise Conflict(f"the target store holds {info.key}, which this migration did not put there: point the "
                           "target at an empty folder or bucket", code="target_not_empty")


def _copy_until_quiet(source: Platform, target: Platform, journal: Journal, moved: Moved, progress) -> None:
    for _ in range(DELTA_PASSES):
        todo = [o for o in source.store.list("") if (journal.objects.get(o.key) or {}).get("size") != o.size]
        if not todo:
            return
        moved.passes.append(_copy(source, target, journal, todo, progress))
    raise Conflict(f"objects kept changing through {DELTA_PASSES} passes: stop the source's server and run again "
                   "(what is moved stays moved)", code="source_busy")


def _copy(source: Platform, target: Platform, journal: Journal, todo: list[ObjectInfo], progress) -> Phase:
    began, phase, done = time.monotonic(), Phase(), 0

    def one(info: ObjectInfo) -> int:
        sent, size = 0, 0
        with source.store.reading(info.key) as src, target.store.writing(info.key) as out:
            while chunk := src.read(CHUNK):
                sent = zlib.crc32(chunk, sent)
                out.write(chunk)
                size += len(chunk)
        found = _read_back(target, info.key)  # from where it now is: what the journal and report state
        if (found.crc32, found.size) != (sent, size):
            raise IntegrityError(f"{info.key} differs on the target after its copy: the target store is faulty; "
                                 "run again once it is mended", code="copy_differs")
        journal.moved(info.key, size, found.sha256)
        return size

    journal.intend([o.key for o in todo])
    try:
        with ThreadPoolExecutor(max_workers=WORKERS) as pool:
            for size in pool.map(one, todo):
                phase.objects, phase.bytes, done = phase.objects + 1, phase.bytes + size, done + 1
                if progress:
                    progress("objects", done, len(todo))
    finally:
        journal.sync()
    phase.seconds = round(time.monotonic() - began, 3)
    return phase


@dataclass(frozen=True)
class ReadBack:
    sha256: str
    crc32: int
    size: int


def _read_back(platform: Platform, key: str) -> ReadBack:
    """An object read from the target: its SHA-256 (the report's, and checked against each
    snapshot's signed manifest and Merkle root) and a CRC-32 compared with the one of the bytes
    sent (the copy arrived whole; hashing the source with SHA-256 too cost a third of the time)."""
    digest, crc, size = hashlib.sha256(), 0, 0
    with platform.store.reading(key) as src:
        while chunk := src.read(CHUNK):
            digest.update(chunk)
            crc = zlib.crc32(chunk, crc)
            size += len(chunk)
    return ReadBack(digest.hexdigest(), crc, size)


# -- checks and report ---------------------------------------------------------------------------


def _check_target_whole(target: Platform, actor: Actor, snapshots: list[dict]) -> dict:
    from bastide.backup.service import check_restored

    checked = check_restored(target, actor=actor)
    if not checked.ok:
        bad = [s.ref for s in checked.snapshots if not s.ok]
        raise IntegrityError(f"the target does not verify: snapshots {bad or 'ok'}, audit chain "
                             f"{'ok' if checked.chain.ok else checked.chain.reason}")
    return {"snapshots": [{"ref": s.ref, "files": s.files, "bytes": s.bytes, "ok": s.ok} for s in checked.snapshots],
            "merkle_roots": {s["prefix"]: s["merkle_root"] for s in snapshots if s.get("merkle_root")},
            "audit_events": checked.chain.events}


def _report(source, target, moved: Moved, journal: Journal, info, rows: dict, dump_sha256: str, dumped_at,
            checks: dict, seconds: float) -> dict:
    objects = [journal.objects[k] for k in sorted(journal.objects)]
    return {
        "format": REPORT_FORMAT, "id": moved.id, "finished_at": utcnow().isoformat(),
        "source": describe(source), "target": describe(target),
        "metadata": {"as_of": dumped_at.isoformat(), "schema_revision": info.revision, "rows": rows,
                     "dump_sha256": dump_sha256},
        "objects": {"count": len(objects), "bytes": sum(o["size"] for o in objects), "list": objects},
        "snapshots": checks["snapshots"], "merkle_roots": checks["merkle_roots"],
        "audit_events": checks["audit_events"],
        "durations": {"passes": [{"objects": p.objects, "bytes": p.bytes, "seconds": p.seconds} for p in moved.passes],
                      "this_run_seconds": round(seconds, 3)},
    }

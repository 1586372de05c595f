"""Backups of a whole platform (RES-01, KEY-07): create, verify, restore into an empty deployment.

A backup is the metadata database as of one instant (backup.metadata) and every object of the
store, sealed into a repository (backup.repository) and listed in a signed manifest. It is
incremental: an object unchanged since the last backup (same key, size and time) is named
again, not copied again. It never holds the master key: the deployment that restores it must be
given the key file or the HSM token the platform had — a backup that carried its own key would
open for whoever holds the backup.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from bastide.audit.actions import AuditAction
from bastide.audit.service import record
from bastide.backup import metadata
from bastide.backup.repository import MANIFEST_FORMAT, Repository, RepositoryKey
from bastide.backup.snapshots import check_snapshots
from bastide.db import utcnow
from bastide.errors import ConfigError, Conflict, DomainError, IntegrityError, InvalidInput, StorageError
from bastide.keys import service as key_service
from bastide.keys.models import DataKey
from bastide.keys.signing import sign_document
from bastide.platform import Platform
from bastide.statemachine import Actor
from bastide.storage import ObjectInfo, store_at, within

WORKERS = 4  # objects copied at once: hashing and AES-GCM release the GIL, the stores wait on I/O
PURPOSE = "backup repository"


@dataclass
class Copied:
    objects: int = 0
    bytes: int = 0
    reused: int = 0
    reused_bytes: int = 0


@dataclass
class BackupReport:
    id: str
    url: str
    objects: int
    bytes: int
    copied: Copied
    rows: int
    seconds: float


@dataclass
class VerifyResult:
    id: str
    objects: int = 0
    bytes: int = 0
    snapshots: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def repository(platform: Platform, url: str) -> Repository:
    if within(url, platform.settings.resolved_store_url):
        raise InvalidInput(f"{url} is inside the store it would back up ({platform.store.url}): a backup there would "
                           "copy itself, and go with the store it is meant to outlive; choose another folder or bucket")
    return Repository(store_at(url, platform.settings, backup=True))



# -- create --------------------------------------------------------------------------------------


def create(platform: Platform, *, actor: Actor, url: str, progress: Callable[[int, int], None] | None = None) -> BackupReport:
    """Back the platform up into the repository at `url`; a backup exists once its manifest is
    written, whole and signed, or not at all."""
    started = time.monotonic()
    repo = repository(platform, url)
    key = _repository_key(platform, actor, repo)
    previous = _previous_objects(platform, repo)
    backup_id = datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%fZ-") + secrets.token_hex(2)  # sorts by time
    with platform.scratch("backup") as tmp:
        dump_path = tmp / "metadata.jsonl.gz"
        with open(dump_path, "wb") as out:
            info = metadata.dump(platform.db, out)
        meta_name = key.blob_name(f"metadata {backup_id}")
        with open(dump_path, "rb") as source:
            meta = repo.seal_into(key, meta_name, source)
        snapshots = metadata.rows_of(dump_path, "snapshot")
    objects, copied = _copy_objects(platform, repo, key, previous, progress)
    problems = check_snapshots(snapshots, objects, platform.store.get_bytes)
    if problems:
        raise Conflict(f"the backup was not written: {problems[0]} (the store changed while it was read: "
                       "run it again)", details={"problems": problems}, code="backup_inconsistent")
    document = {
        "format": MANIFEST_FORMAT, "id": backup_id, "created_at": utcnow().isoformat(),
        "source": _source(platform), "key_id": key.key_id, "schema_revision": info.revision,
        "metadata": {"blob": meta_name, "sha256": meta.sha256, "size": meta.size, "rows": info.rows},
        "objects": [objects[k] for k in sorted(objects)],
        "totals": {"objects": len(objects), "bytes": sum(o["size"] for o in objects.values()),
                   "copied_objects": copied.objects, "copied_bytes": copied.bytes,
                   "seconds": round(time.monotonic() - started, 3)},
    }
    _, signature = sign_document(platform.signer, document)
    repo.write_manifest(document, signature, platform.signer.public_pem())
    report = BackupReport(backup_id, repo.url, len(objects), document["totals"]["bytes"], copied, info.total,
                          document["totals"]["seconds"])
    with platform.db.unit_of_work() as session:
        record(session, actor=actor, action=AuditAction.BACKUP_CREATE, target=f"backup:{backup_id}",
               details={"repository": repo.url, "objects": report.objects, "bytes": report.bytes,
                        "copied_bytes": copied.bytes, "rows": info.total})
    return report


def _source(platform: Platform) -> dict:
    return {"database": platform.db.engine.dialect.name, "store": platform.store.url.split("://")[0]
            if "://" in platform.store.url else "local", "key_backend": platform.keys.backend}


def _repository_key(platform: Platform, actor: Actor, repo: Repository) -> RepositoryKey:
    """The repository's key: made (audited) at its first backup, kept wrapped in the database so a
    rotation of the master key wraps it again, and written to the repository each time."""
    record_ = repo.key_record()
    with platform.db.unit_of_work() as session:
        if record_ is None:
            row = key_service.create_key(session, keys=platform.keys, actor=actor, purpose=f"{PURPOSE} {repo.url}")
        else:
            row = session.get(DataKey, record_["key_id"])
            if row is None or row.wrapped is None:
                raise Conflict(f"{repo.url} holds another platform's backups (or this one's, made before its "
                               "database was replaced): back up into a new repository", code="foreign_repository")
        key_id, wrapped = row.id, row.wrapped
    repo.write_key_record(key_id, wrapped, platform.keys.backend)
    return RepositoryKey(key_id, platform.keys.unwrap(key_id, wrapped))


def refresh_repository_keys(platform: Platform) -> list[str]:
    """Write each backup repository's key as the database now holds it (wrapped under the next
    master key during a rotation, so the repositories still open once the old key is destroyed);
    what could not be written, each with why."""
    from sqlalchemy import select

    with platform.db.unit_of_work() as session:
        rows = session.execute(select(DataKey).where(DataKey.purpose.startswith(f"{PURPOSE} "),
                                                     DataKey.wrapped.is_not(None))).scalars().all()
        wanted = [(row.purpose.removeprefix(f"{PURPOSE} "), row.id, row.wrapped) for row in rows]
    failed = []
    for url, key_id, wrapped in wanted:
        try:
            repo = repository(platform, url)
            found = repo.key_record()
            if found is not None and found["key_id"] == key_id:
                repo.write_key_record(key_id, wrapped, platform.keys.backend)
        except DomainError as exc:
            failed.append(f"{url}: {exc.message}")
    return failed


def _previous_objects(platform: Platform, repo: Repository) -> dict[tuple, dict]:
    """The objects of the last backup, by (key, size, time): those not changed since are reused."""
    if not repo.backup_ids():
        return {}
    last = repo.manifest(None, public_pem=platform.signer.public_pem())
    return {(o["key"], o["size"], o["mtime_ns"]): o for o in last["objects"] if o.get("mtime_ns") is not None}


def _copy_objects(platform: Platform, repo: Repository, key: RepositoryKey, previous: dict,
                  progress: Callable[[int, int], None] | None) -> tuple[dict[str, dict], Copied]:
    listed = platform.store.list("")
    total, done, copied, objects = len(listed), 0, Copied(), {}

    def one(info: ObjectInfo) -> dict | None:
        reused = previous.get((info.key, info.size, info.mtime_ns))
        if reused is not None:
            return {**reused, "reused": True}
        name = key.blob_name(f"object {info.key} {info.size} {info.mtime_ns}")
        try:
            with platform.store.reading(info.key) as source:
                content = repo.seal_into(key, name, source)
        except StorageError as exc:
            if exc.code == "not_found":  # deleted since it was listed (a workspace shredded meanwhile)
                return None
            raise
        return {"key": info.key, "size": content.size, "sha256": content.sha256, "blob": name,
                "mtime_ns": info.mtime_ns}

    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        for entry in pool.map(one, listed):
            done += 1
            if progress:
                progress(done, total)
            if entry is None:
                continue
            if entry.pop("reused", False):
                copied.reused, copied.reused_bytes = copied.reused + 1, copied.reused_bytes + entry["size"]
            else:
                copied.objects, copied.bytes = copied.objects + 1, copied.bytes + entry["size"]
            objects[entry["key"]] = entry
    return objects, copied


# -- verify --------------------------------------------------------------------------------------


def verify(platform: Platform, *, actor: Actor | None, url: str, backup_id: str | None = None) -> VerifyResult:
    """Open every blob of a backup, check each content's hash, the metadata dump and every
    snapshot's Merkle root against what the backup holds; with `actor`, trace the check."""
    repo = repository(platform, url)
    document = repo.manifest(backup_id, public_pem=platform.signer.public_pem())
    key = repo.unwrap_key(platform.keys)
    result = VerifyResult(document["id"])
    with platform.scratch("verify") as tmp:
        dump_path = tmp / "metadata.jsonl.gz"
        problem = _open_blob(repo, key, document["metadata"], "the metadata dump", into=dump_path)
        if problem:
            result.problems.append(problem)
            snapshots = []
        else:
            snapshots = metadata.rows_of(dump_path, "snapshot")

        def check(entry: dict) -> str | None:
            return _open_blob(repo, key, entry, entry["key"])

        with ThreadPoolExecutor(max_workers=WORKERS) as pool:
            for entry, found in zip(document["objects"], pool.map(check, document["objects"]), strict=True):
                result.objects, result.bytes = result.objects + 1, result.bytes + entry["size"]
                if found:
                    result.problems.append(found)
    objects = {o["key"]: o for o in document["objects"]}
    result.snapshots = sum(1 for s in snapshots if s.get("manifest_sha256"))
    result.problems += check_snapshots(snapshots, objects, lambda k: _blob_bytes(repo, key, objects[k]))
    if actor is not None:
        with platform.db.unit_of_work() as session:
            record(session, actor=actor, action=AuditAction.BACKUP_VERIFY, target=f"backup:{result.id}",
                   details={"repository": repo.url, "ok": result.ok, "objects": result.objects,
                            "problems": result.problems[:20]})
    return result


def _blob_bytes(repo: Repository, key: RepositoryKey, entry: dict) -> bytes:
    with repo.opening(key, entry["blob"]) as chunks:
        return b"".join(chunks)


def _open_blob(repo: Repository, key: RepositoryKey, entry: dict, what: str, *, into: Path | None = None) -> str | None:
    """Open a blob (into a local file, if given) and check its content's hash and size against
    the manifest; a problem, or None."""
    digest, size = hashlib.sha256(), 0
    try:
        with repo.opening(key, entry["blob"]) as chunks, (open(into, "wb") if into else nullcontext()) as out:
            for chunk in chunks:
                digest.update(chunk)
                size += len(chunk)
                if out is not None:
                    out.write(chunk)
    except (IntegrityError, StorageError) as exc:
        return f"{what}: {exc.message}"
    if (digest.hexdigest(), size) != (entry["sha256"], entry["size"]):
        return f"{what}: its content is not what was backed up (hash differs)"
    return None


# -- restore -------------------------------------------------------------------------------------


@dataclass
class RestoreReport:
    id: str
    objects: int
    bytes: int
    skipped: int
    rows: int
    seconds: float


def restore(platform: Platform, *, actor: Actor, url: str, backup_id: str | None = None,
            progress: Callable[[int, int], None] | None = None) -> RestoreReport:
    """Restore a backup into this deployment, which must be empty (a new database, a store that
    holds nothing but what an interrupted restore of the same backup put there: it resumes).
    Objects first, each checked against its hash; the database last, in one transaction, so the
    platform exists only once everything is in place."""
    started = time.monotonic()
    repo = repository(platform, url)
    with _keys_needed():
        document = repo.manifest(backup_id, public_pem=platform.signer.public_pem())
        key = repo.unwrap_key(platform.keys)
    metadata.check_empty(platform.db)
    wanted = {o["key"]: o for o in document["objects"]}
    present = _check_store_for_restore(platform, wanted)
    platform.store.check()
    with platform.scratch("restore") as tmp:
        def one(entry: dict) -> None:
            local = tmp / secrets.token_hex(8)  # not mkstemp: its 0600 would outlive the move
            problem = _open_blob(repo, key, entry, entry["key"], into=local)
            if problem:
                raise IntegrityError(f"the restore stopped: {problem}; nothing of the database was written, "
                                     "run it again from another backup", code="backup_damaged")
            platform.store.put_file(local, entry["key"])

        todo = [o for k, o in sorted(wanted.items()) if k not in present]
        _run_all(one, todo, progress, len(wanted), len(present))
        dump_path = tmp / "metadata.jsonl.gz"
        problem = _open_blob(repo, key, document["metadata"], "the metadata dump", into=dump_path)
        if problem:
            raise IntegrityError(f"the restore stopped: {problem}", code="backup_damaged")
        with open(dump_path, "rb") as source:
            info = metadata.load(platform.db, source)
    report = RestoreReport(document["id"], len(wanted), sum(o["size"] for o in todo), len(present), info.total,
                           round(time.monotonic() - started, 3))
    with platform.db.unit_of_work() as session:
        record(session, actor=actor, action=AuditAction.BACKUP_RESTORE, target=f"backup:{document['id']}",
               details={"repository": repo.url, "objects": report.objects, "rows": report.rows,
                        "source": document["source"]})
    return report


@contextmanager
def _keys_needed() -> Iterator[None]:
    """A missing key file says `run bastide init` elsewhere; here that would make new keys, which
    open nothing: say what a restore needs instead."""
    try:
        yield
    except ConfigError as exc:
        if "missing" not in exc.message:
            raise
        raise ConfigError(f"{exc.message.split(':')[0]}: a restore needs the keys of the platform that made the "
                          "backup — copy its master key and signing key files here (or point at the HSM token "
                          "holding them); `bastide init` would make new keys, which open nothing") from exc


def _check_store_for_restore(platform: Platform, wanted: dict[str, dict]) -> set[str]:
    """The objects an interrupted restore of this backup already put in place; refuse a store
    holding anything else."""
    present = set()
    for info in platform.store.list(""):
        entry = wanted.get(info.key)
        if entry is None or entry["size"] != info.size:
            raise Conflict(f"the target store is not empty ({info.key} is not in the backup): point "
                           "BASTIDE_STORE_URL at an empty folder or bucket", code="target_not_empty")
        present.add(info.key)
    return present


def _run_all(work: Callable[[dict], None], items: Iterable[dict], progress, total: int, done: int) -> None:
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        for _ in pool.map(work, items):
            done += 1
            if progress:
                progress(done, total)



@dataclass
class Restored:
    snapshots: list  # base.verify.VerifyReport of each published snapshot
    chain: object  # audit.service.ChainReport

    @property
    def ok(self) -> bool:
        return self.chain.ok and all(s.ok for s in self.snapshots)


def check_restored(platform: Platform, *, actor: Actor) -> Restored:
    """What `bastide base verify` and `bastide audit verify` say of the restored platform."""
    from sqlalchemy import select

    from bastide.audit.service import verify_chain
    from bastide.base.verify import verify_snapshot
    from bastide.catalogue.models import Dataset, Snapshot

    with platform.db.unit_of_work() as session:
        refs = [f"{name}@{release}" for name, release in session.execute(
            select(Dataset.name, Snapshot.release).join(Snapshot, Snapshot.dataset_id == Dataset.id)
            .where(Snapshot.merkle_root.is_not(None)).order_by(Dataset.name, Snapshot.release))]
    reports = [verify_snapshot(platform, actor=actor, ref=ref) for ref in refs]
    with platform.db.unit_of_work() as session:
        chain = verify_chain(session)
    return Restored(reports, chain)

"""Backup, restore and migration throughput as ratios to a plain copy of the same objects between
the same stores, measured in the same run (issue 17: backup and migration >= 0.7x a plain copy),
and the recovery figures of the synthetic base (RPO, RTO).

    .venv/bin/python bench/backup.py --beneficiaries 100000              # a folder -> a folder
    .venv/bin/python bench/backup.py --beneficiaries 100000 --store s3   # S3 (SeaweedFS) -> S3

What each side does, on the same objects (every object of the store after an ingest):
- plain copy: each object read and written in 1 MiB chunks by 4 threads into a fresh folder or
  prefix (`store.writing`, on disk when it closes: a folder's file is fsync'd, as every write of
  the platform is); nothing else (no hash, no encryption, no metadata, no manifest);
- backup: `backup.create` into a fresh repository: the same objects read by 4 threads, each
  hashed (SHA-256), sealed (AES-256-GCM) and written; plus the metadata dump (sealed), the check
  of every snapshot's files and Merkle root, and the signed manifest;
- migration (objects): `migration.migrate(objects_only=True)` into a fresh deployment on the same
  kind of store: the same objects read by 4 threads, each hashed, written, then read back from
  the target and hashed again, and journaled (fsync); the full migration (metadata with keys
  wrapped again, the checks, the signed report) is timed apart;
- plain copy back: the backup's blobs read and written into a fresh folder or prefix, as is;
- restore: `backup.restore` into an empty deployment: each blob opened, checked against its hash
  through a local file, put in the store; then the database loaded. The checks after it
  (`base verify` of every snapshot, `audit verify`) are timed apart: they are part of the RTO.
Rounds interleave the sides (the first round warms the caches, unmeasured); medians compared.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE.parent))

from bastide.backup import service as backup  # noqa: E402
from bastide.base.ingest import IngestRequest, ingest  # noqa: E402
from bastide.config import Settings  # noqa: E402
from bastide.migration import service as migration  # noqa: E402
from bastide.platform import Platform, operator_actor  # noqa: E402
from bastide.storage import ObjectStore, store_at  # noqa: E402
from bench.ingest import delivery  # noqa: E402
from tests.services import S3_ACCESS, S3_BUCKET, S3_SECRET, SeaweedS3  # noqa: E402

CHUNK = 1 << 20


def plain_copy(source: ObjectStore, target: ObjectStore, prefix: str = "") -> int:
    """Every object under `prefix` read and written as is, 4 at a time; the bytes copied."""
    def one(info) -> int:
        with source.reading(info.key) as src, target.writing(info.key) as out:
            while chunk := src.read(CHUNK):
                out.write(chunk)
        return info.size

    with ThreadPoolExecutor(max_workers=backup.WORKERS) as pool:
        return sum(pool.map(one, source.list(prefix)))


class Sites:
    """Fresh folders or S3 prefixes, each used once."""

    def __init__(self, root: Path, s3: dict | None):
        self.root, self.s3 = root, s3

    def url(self, name: str) -> str:
        unique = f"{name}-{uuid.uuid4().hex[:8]}"
        return f"s3://{S3_BUCKET}/{unique}" if self.s3 else str(self.root / unique)

    def settings(self, home: Path, **more) -> Settings:
        return Settings(home=home, env="test", **(self.s3 or {}), **more)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--beneficiaries", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--store", choices=["local", "s3"], default="local")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    out = HERE / "out"
    out.mkdir(exist_ok=True)
    source_delivery = delivery(out, args.beneficiaries, args.seed)
    server = SeaweedS3() if args.store == "s3" else None
    s3 = None
    if server is not None:
        endpoint = server.start()
        s3 = {"s3_endpoint": endpoint, "s3_access_key": S3_ACCESS, "s3_secret_key": S3_SECRET}
    try:
        with tempfile.TemporaryDirectory(prefix="bench-backup-", dir=out) as tmp:
            run(Path(tmp), Sites(Path(tmp), s3), source_delivery, args)
    finally:
        if server is not None:
            server.stop()


def run(root: Path, sites: Sites, source_delivery: Path, args) -> None:
    settings = sites.settings(root / "source", store_url=sites.url("store"))
    platform = Platform(settings)
    platform.init(operator_actor())
    began = time.monotonic()
    ingest(platform, actor=operator_actor(), request=IngestRequest(str(source_delivery), "snds", "2024-12"))
    objects = platform.store.list("")
    size = sum(o.size for o in objects)
    print(f"{args.store}: {args.beneficiaries:,} beneficiaries ingested in {time.monotonic() - began:.1f} s: "
          f"{len(objects)} objects, {size / 1e6:.1f} MB")
    names = ("copy", "backup", "migrate", "incremental", "migrate all", "copy back", "restore", "checks")
    times: dict[str, list[float]] = {k: [] for k in names}
    for round_ in range(args.rounds + 1):
        measured = {}
        order = ["copy", "backup", "migrate"]
        order = order[round_ % 3:] + order[:round_ % 3]  # each side first in turn
        repo_url = None
        for side in order:
            t0 = time.perf_counter()
            if side == "copy":
                plain_copy(platform.store, store_at(sites.url("copy"), settings))
            elif side == "backup":
                repo_url = sites.url("repository")
                backup.create(platform, actor=operator_actor(), url=repo_url)
            else:
                target = Platform(sites.settings(root / f"target-{round_}", store_url=sites.url("target")))
                journal = root / f"journal-{round_}"
                migration.migrate(platform, target, actor=operator_actor(), journal_dir=journal, objects_only=True)
                measured[side] = time.perf_counter() - t0
                t0 = time.perf_counter()
                migration.migrate(platform, target, actor=operator_actor(), journal_dir=journal)
                measured["migrate all"] = measured[side] + time.perf_counter() - t0
                target.close()
                continue
            measured[side] = time.perf_counter() - t0
        t0 = time.perf_counter()
        again = backup.create(platform, actor=operator_actor(), url=repo_url)
        measured["incremental"] = time.perf_counter() - t0
        assert again.copied.objects == 0
        repository = store_at(repo_url, settings, backup=True)
        for side in (["copy back", "restore"] if round_ % 2 else ["restore", "copy back"]):
            t0 = time.perf_counter()
            if side == "copy back":
                plain_copy(repository, store_at(sites.url("back"), settings), "blobs")
            else:
                home = root / f"restored-{round_}"
                (home / "keys").mkdir(parents=True)
                for key in (settings.resolved_master_key_file, settings.resolved_signing_key_file):
                    shutil.copy2(key, home / "keys" / key.name)
                target = Platform(sites.settings(home, store_url=sites.url("restored")))
                backup.restore(target, actor=operator_actor(), url=repo_url)
                measured["restore"] = time.perf_counter() - t0
                t0 = time.perf_counter()
                assert backup.check_restored(target, actor=operator_actor()).ok
                measured["checks"] = time.perf_counter() - t0
                target.close()
                continue
            measured[side] = time.perf_counter() - t0
        if round_:  # the first round warms both sides
            for key, value in measured.items():
                times[key].append(value)
    platform.close()
    median = {k: statistics.median(v) for k, v in times.items()}
    mb = size / 1e6
    print(f"medians of {args.rounds} interleaved rounds ({backup.WORKERS} threads on each side):")
    for key in names:
        print(f"  {key:12s} {median[key]:7.2f} s  {mb / median[key]:8.1f} MB/s")
    print(f"backup / plain copy (throughput): {median['copy'] / median['backup']:.2f}x (target >= 0.7x)")
    print(f"migration of the objects / plain copy (throughput): {median['copy'] / median['migrate']:.2f}x "
          f"(target >= 0.7x); the whole migration {median['migrate all']:.1f} s")
    print(f"restore / plain copy back (throughput): {median['copy back'] / median['restore']:.2f}x")
    print(f"RPO with a nightly backup: 24 h + {median['incremental']:.1f} s (an incremental backup); "
          f"a first full one takes {median['backup']:.1f} s")
    print(f"RTO: {median['restore'] + median['checks']:.1f} s (restore {median['restore']:.1f} s + "
          f"checks {median['checks']:.1f} s), keys at hand")


if __name__ == "__main__":
    main()

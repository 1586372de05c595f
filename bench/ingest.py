"""Ingest and verify throughput, as ratios to baselines measured in the same run.

    .venv/bin/python bench/ingest.py --beneficiaries 850000   # >= 20 M DCIR rows

Baselines: a raw DuckDB `COPY (SELECT * FROM read_csv(...)) TO 'x.parquet'` of the same
CSV files (no validation, no encryption, no hashing, no catalogue), and hashlib SHA-256
over the same Parquet files that verify re-reads. Targets: ingest >= 0.5x, verify >= 0.8x.
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import tempfile
import time
from pathlib import Path

import duckdb

from bastide.base.ingest import IngestRequest, ingest
from bastide.base.synth import generate
from bastide.base.verify import verify_snapshot
from bastide.config import Settings
from bastide.platform import Platform, operator_actor

DCIR = ("ER_PRS_F", "ER_PHA_F", "ER_BIO_F", "ER_CAM_F", "ER_ETE_F")


def delivery(root: Path, beneficiaries: int, seed: int) -> Path:
    """Made once per generator version, size and seed (kept in bench/out, which git ignores)."""
    import bastide.base.synth as synth

    code = hashlib.sha256(b"".join(p.read_bytes() for p in sorted(Path(synth.__file__).parent.glob("*.py"))))
    out = root / f"delivery-{beneficiaries}-{seed}-{code.hexdigest()[:8]}"
    if not out.exists():
        began = time.monotonic()
        generate(out, beneficiaries=beneficiaries, years=[2022, 2023, 2024], seed=seed)
        print(f"synthetic delivery: {time.monotonic() - began:.1f} s")
    return out


def raw_copy(out: Path, scratch: Path) -> tuple[float, int]:
    con = duckdb.connect(config={"threads": 2})
    began, rows = time.monotonic(), 0
    for i, csv in enumerate(sorted(out.rglob("*.csv"))):
        target = scratch / f"copy-{i}.parquet"
        con.execute(f"COPY (SELECT * FROM read_csv('{csv}', delim=';', header=true)) TO '{target}' "
                    "(FORMAT parquet, COMPRESSION zstd)")
        rows += con.execute(f"SELECT count(*) FROM '{target}'").fetchall()[0][0]
    return time.monotonic() - began, rows


def sha256_all(paths: list[Path]) -> float:
    began = time.monotonic()
    for path in paths:
        with open(path, "rb") as fh:
            hashlib.file_digest(fh, "sha256")
    return time.monotonic() - began


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--beneficiaries", type=int, default=850_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--data", type=Path, default=Path("bench/out"))
    args = parser.parse_args()
    args.data.mkdir(parents=True, exist_ok=True)
    out = delivery(args.data, args.beneficiaries, args.seed)
    csv_bytes = sum(p.stat().st_size for p in out.rglob("*.csv"))
    dcir_rows = sum(sum(1 for _ in open(p, "rb")) - 1 for t in DCIR for p in (out / t).glob("*.csv"))
    with tempfile.TemporaryDirectory(dir=args.data) as scratch:
        copy_s, rows = raw_copy(out, Path(scratch))
    home = Path(tempfile.mkdtemp(dir=args.data))
    try:
        platform = Platform(Settings(home=home))
        platform.init(operator_actor())
        began = time.monotonic()
        result = ingest(platform, actor=operator_actor(), request=IngestRequest(str(out), "snds", "bench"))
        ingest_s = time.monotonic() - began
        files = sorted((home / "store").rglob("*.parquet"))
        hash_s = sha256_all(files)
        began = time.monotonic()
        report = verify_snapshot(platform, actor=operator_actor(), ref="snds@bench")
        verify_s = time.monotonic() - began
        assert report.ok and result.rows == rows
        platform.close()
    finally:
        shutil.rmtree(home, ignore_errors=True)
    mb = csv_bytes / 1e6
    print(f"delivery: {rows:,} rows ({dcir_rows:,} DCIR), {mb:,.0f} MB of CSV, {result.files} Parquet files")
    print(f"raw DuckDB COPY : {copy_s:7.1f} s  {rows / copy_s:12,.0f} rows/s  {mb / copy_s:7.1f} MB/s")
    print(f"bastide ingest  : {ingest_s:7.1f} s  {rows / ingest_s:12,.0f} rows/s  {mb / ingest_s:7.1f} MB/s")
    print(f"ingest / raw COPY throughput ratio: {copy_s / ingest_s:.2f}x (target >= 0.5x)")
    pq_mb = result.bytes / 1e6
    print(f"hashlib sha256  : {hash_s:7.2f} s  {pq_mb / hash_s:7.1f} MB/s over {pq_mb:,.0f} MB")
    print(f"bastide verify  : {verify_s:7.2f} s  {pq_mb / verify_s:7.1f} MB/s")
    print(f"verify / hashing throughput ratio: {hash_s / verify_s:.2f}x (target >= 0.8x)")


if __name__ == "__main__":
    main()

"""The commands a user types, run as a user runs them (a subprocess each)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

BASTIDE = [sys.executable, "-m", "bastide.cli"]


def run(home: Path, *args: str, check: bool = True, env: dict | None = None) -> subprocess.CompletedProcess:
    environ = {**os.environ, "BASTIDE_HOME": str(home), "COLUMNS": "200", **(env or {})}
    proc = subprocess.run([*BASTIDE, *args], capture_output=True, text=True, env=environ, cwd=home.parent)
    if check and proc.returncode:
        raise AssertionError(f"{args} exited {proc.returncode}: {proc.stderr}")
    return proc


@pytest.mark.slow
def test_done_when_flow_on_embedded_defaults(tmp_path):
    home = tmp_path / "home"
    out = tmp_path / "delivery"
    run(home, "synth", "snds", "--beneficiaries", "2000", "--out", str(out), "--gzip")
    run(home, "init")
    ingest = run(home, "base", "ingest", str(out), "--dataset", "snds", "--release", "2024-12")
    assert "published snds@2024-12" in ingest.stdout
    assert "ok snds@2024-12" in run(home, "base", "verify", "snds@2024-12").stdout
    assert "snds@2024-12" in run(home, "base", "snapshots", "snds").stdout
    assert "ER_PRS_F" in run(home, "catalogue", "show", "snds@2024-12").stdout
    assert "BEN_NIR_PSA" in run(home, "catalogue", "show", "snds@2024-12:IR_BEN_R").stdout
    assert "healthdcatap" in run(home, "catalogue", "export", "snds", "--format", "turtle").stdout
    assert "BEGIN PUBLIC KEY" in run(home, "public-key").stdout
    assert "intact" in run(home, "audit", "verify").stdout
    victim = next((home / "store" / "base" / "snds" / "2024-12" / "IR_BEN_R").glob("*.parquet"))
    data = bytearray(victim.read_bytes())
    data[100] ^= 0xFF
    victim.write_bytes(bytes(data))
    failed = run(home, "base", "verify", "snds@2024-12", check=False)
    assert failed.returncode == 6 and "IR_BEN_R/part-0.parquet" in failed.stderr


def test_errors_are_one_clear_line_without_traceback(tmp_path):
    home = tmp_path / "home"
    not_ready = run(home, "base", "snapshots", "snds", check=False)
    assert not_ready.returncode != 0 and "bastide init" in not_ready.stderr and "Traceback" not in not_ready.stderr
    run(home, "init")
    missing = run(home, "base", "ingest", str(tmp_path / "nope"), "--dataset", "snds", "--release", "r", check=False)
    assert missing.returncode == 2 and "does not exist" in missing.stderr and "Traceback" not in missing.stderr
    bad_ref = run(home, "base", "verify", "snds-2024", check=False)
    assert bad_ref.returncode == 2 and "DATASET@RELEASE" in bad_ref.stderr
    bad_setting = run(home, "catalogue", "list", check=False, env={"BASTIDE_DUCKDB_THREADS": "zero"})
    assert bad_setting.returncode == 78 and "duckdb_threads" in bad_setting.stderr


@pytest.mark.slow
def test_kill_9_mid_ingest_leaves_nothing_visible_and_rerun_succeeds(tmp_path):
    home = tmp_path / "home"
    out = tmp_path / "delivery"
    run(home, "synth", "snds", "--beneficiaries", "3000", "--out", str(out))
    run(home, "init")
    env = {**os.environ, "BASTIDE_HOME": str(home)}
    proc = subprocess.Popen([*BASTIDE, "base", "ingest", str(out), "--dataset", "snds", "--release", "r1"],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=tmp_path)
    store = home / "store" / "base" / "snds" / "r1"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not any(store.rglob("*.parquet")):
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert run(home, "base", "verify", "snds@r1", check=False).returncode == 4  # not found: never published
    assert "r1" not in run(home, "base", "snapshots", "snds", check=False).stdout
    run(home, "base", "ingest", str(out), "--dataset", "snds", "--release", "r1")
    assert run(home, "base", "verify", "snds@r1").returncode == 0


@pytest.mark.slow
def test_up_loads_a_sample_and_serves_the_catalogue(tmp_path):
    import json
    import urllib.request

    from tests.services import free_port, wait_port

    home, port = tmp_path / "home", free_port()
    env = {**os.environ, "BASTIDE_HOME": str(home)}
    proc = subprocess.Popen([*BASTIDE, "up", "--port", str(port)], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, cwd=tmp_path)
    try:
        wait_port(port, timeout=120)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health") as r:
            assert json.load(r)["status"] == "ok"
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/catalogue/datasets/snds/snapshots") as r:
            assert [s["ref"] for s in json.load(r)] == ["snds@sample"]
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=30)
    assert f"http://127.0.0.1:{port}/" in out

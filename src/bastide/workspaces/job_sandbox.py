"""A job's run in its sandbox (sandbox.py), watched from outside: the script at /job/script.py,
the extract's encrypted files read-only at /extract with their key (or, on Spark, the engine
socket), the approved imports at /data/imports, only /out writable.

What it prints goes to a log file in the job's scratch folder, read as it comes: a job that
prints more than `log_bytes` is stopped, so a `print(df.to_csv())` loop cannot fill the
server's memory or disk. What it writes in /out is measured every second: past `output_bytes`
(disk really used: a sparse file costs what it holds) or `output_files` the job is stopped.
Each file is bounded by the sandbox's file-size limit (RLIMIT_FSIZE) anyway."""

from __future__ import annotations

import os
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from bastide.workspaces.sandbox import Limits, Sandbox, kill

ENGINE_SOCKET = "/run/bastide/engine.sock"  # where a Spark workspace's job finds the gateway (gateway.py)
SCRIPT = "/job/script.py"
EXTRACT = "/extract"
EXTRACT_SPEC = "/run/bastide/extract.json"
POLL_SECONDS = 1.0


@dataclass(frozen=True)
class Outcome:
    exit_code: int | None
    stopped: str | None  # why the platform stopped it: "time", "log", "outputs"; None if it ended itself
    log: Path  # everything it printed, up to the limit
    seconds: float


@dataclass(frozen=True)
class JobSpace:
    data: Path  # the approved imports (data/imports), read-only at /data
    out: Path  # owned by the sandbox's uid
    script: bytes
    extract: Path | None = None  # the extract's encrypted files, read-only at /extract (DuckDB workspaces)
    extract_spec: bytes | None = None  # its tables and its key, at /run/bastide/extract.json
    engine_socket: Path | None = None  # the gateway to the workspace's engine (Spark workspaces)


@dataclass(frozen=True)
class JobLimits:
    seconds: int
    log_bytes: int
    output_bytes: int
    output_files: int


def _sandbox(space: JobSpace, uid: int | None, limits: Limits) -> Sandbox:
    box = Sandbox(uid=uid, limits=limits, workdir="/out").python()
    box.read_only(space.data, "/data").writable(space.out, "/out").file(space.script, SCRIPT)
    box.env("BASTIDE_DATA", "/data").env("MPLBACKEND", "Agg")
    if space.extract is not None:
        box.read_only(space.extract, EXTRACT).file(space.extract_spec, EXTRACT_SPEC)
        box.env("BASTIDE_EXTRACT", EXTRACT_SPEC)
    if space.engine_socket is not None:  # a unix socket: reached without any network
        box.writable(space.engine_socket, ENGINE_SOCKET).env("BASTIDE_ENGINE_SOCKET", ENGINE_SOCKET)
    return box


def run(space: JobSpace, *, uid: int | None, limits: Limits, job: JobLimits, log: Path,
        started=lambda _process: None) -> Outcome:
    """Run the script to its end or its limit; `started` receives the process, so that a lock
    can kill it early."""
    import sys

    began = time.monotonic()
    process = _sandbox(space, uid, limits).start([sys.executable, SCRIPT], stdout=subprocess.PIPE,
                                                stderr=subprocess.STDOUT)
    started(process)
    stopped: list[str] = []
    reader = threading.Thread(target=_drain, args=(process, log, job.log_bytes, stopped), daemon=True)
    reader.start()
    deadline = began + job.seconds
    while process.poll() is None:
        if time.monotonic() > deadline:
            _stop(process, stopped, "time")
        elif _too_much(space.out, job):
            _stop(process, stopped, "outputs")
        try:
            process.wait(timeout=POLL_SECONDS)
        except subprocess.TimeoutExpired:
            pass
    reader.join()
    code = None if stopped else process.returncode
    return Outcome(code, stopped[0] if stopped else None, log, round(time.monotonic() - began, 3))


def _stop(process: subprocess.Popen, stopped: list[str], why: str) -> None:
    stopped.append(why)
    kill(process)


def _drain(process: subprocess.Popen, log: Path, limit: int, stopped: list[str]) -> None:
    """Copy what the job prints to its log file, stopping the job once it passed `limit`."""
    written = 0
    with open(log, "wb") as sink:
        while chunk := process.stdout.read1(1 << 16):
            if written < limit:
                sink.write(chunk[:limit - written])
            written += len(chunk)
            if written > limit and not stopped:
                _stop(process, stopped, "log")
    process.stdout.close()


def _too_much(out: Path, job: JobLimits) -> bool:
    """Whether /out holds more than allowed: disk blocks really used, and the number of files."""
    used, files = 0, 0
    for root, dirs, names in os.walk(out):
        for name in [*names, *dirs]:
            try:
                used += os.lstat(os.path.join(root, name)).st_blocks * 512
            except OSError:
                continue
            files += 1
            if files > job.output_files or used > job.output_bytes:
                return True
    return False

"""The job sandbox (SPE-01, SPE-10): bubblewrap, every namespace unshared — so no network at
all, not even loopback — the extract read-only at /data, only /out writable, no capabilities,
an unprivileged uid, a memory limit (RLIMIT_AS) and a wall-time limit after which the whole
process group is killed. The Python is the platform's own environment, read-only."""

from __future__ import annotations

import os
import resource
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import bastide
from bastide.errors import Unavailable

LOG_LIMIT = 1_000_000  # characters of stdout+stderr kept


class SandboxUnavailable(Unavailable):
    code = "sandbox_unavailable"


@dataclass(frozen=True)
class Outcome:
    exit_code: int | None
    timed_out: bool
    log: str
    seconds: float


ENGINE_SOCKET = "/run/bastide/engine.sock"  # where a Spark workspace's job finds the gateway (gateway.py)


def command(*, data: Path, out: Path, script: Path, engine_socket: Path | None = None) -> list[str]:
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        raise SandboxUnavailable("bubblewrap is missing: install it (apt-get install bubblewrap) to run jobs")
    package_root = str(Path(bastide.__file__).resolve().parent.parent)  # for the bastide.workspace helper
    binds = []
    for path in sorted({sys.base_prefix, sys.prefix, package_root}):  # the venv links into its base Python
        binds += ["--ro-bind", path, path]
    if engine_socket is not None:  # a unix socket: reached without any network
        binds += ["--bind", str(engine_socket), ENGINE_SOCKET, "--setenv", "BASTIDE_ENGINE_SOCKET", ENGINE_SOCKET]
    return [
        bwrap, "--unshare-all", "--die-with-parent", "--new-session", "--clearenv",
        "--setenv", "PATH", "/usr/bin:/bin", "--setenv", "HOME", "/tmp", "--setenv", "PYTHONPATH", package_root,
        "--setenv", "BASTIDE_DATA", "/data", "--setenv", "MPLBACKEND", "Agg", "--setenv", "PYTHONDONTWRITEBYTECODE", "1",
        "--ro-bind", "/usr", "/usr", "--symlink", "usr/lib", "/lib", "--symlink", "usr/lib64", "/lib64",
        "--symlink", "usr/bin", "/bin", "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp",
        *binds,  # after the /tmp tmpfs: a checkout under /tmp must stay visible
        "--ro-bind", str(data), "/data", "--bind", str(out), "/out", "--ro-bind", str(script), "/job/script.py",
        "--uid", "1000", "--gid", "1000", "--cap-drop", "ALL", "--chdir", "/out",
        sys.executable, "/job/script.py",
    ]


def run(*, data: Path, out: Path, script: Path, memory_bytes: int, seconds: int,
        started=lambda _process: None, engine_socket: Path | None = None) -> Outcome:
    """Run the script; `started` receives the process, so that a lock can kill it early."""
    def limits() -> None:  # in the child, before bwrap: inherited by everything it starts
        resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))

    began = time.monotonic()
    process = subprocess.Popen(command(data=data, out=out, script=script, engine_socket=engine_socket), stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, preexec_fn=limits, start_new_session=True)
    started(process)
    try:
        output, _ = process.communicate(timeout=seconds)
        timed_out = False
    except subprocess.TimeoutExpired:
        kill(process)
        output, _ = process.communicate()
        timed_out = True
    log = output.decode("utf-8", "replace")
    if len(log) > LOG_LIMIT:
        log = log[:LOG_LIMIT] + "\n[log truncated]\n"
    return Outcome(None if timed_out else process.returncode, timed_out, log, round(time.monotonic() - began, 3))


def kill(process: subprocess.Popen) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass

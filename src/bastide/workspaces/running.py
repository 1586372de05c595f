"""The sandboxed processes running in this server, by workspace, so that a lock kills them at
once (GOV-15). One registry per process: each process's scheduled check kills its own jobs of
locked workspaces, whichever node locked them."""

from __future__ import annotations

import subprocess
import threading

from bastide.workspaces import sandbox

_LOCK = threading.Lock()
_RUNNING: dict[int, tuple[int, subprocess.Popen]] = {}  # job id -> (workspace id, process)
_KILLED: set[int] = set()


def add(job_id: int, ws_id: int, process: subprocess.Popen) -> None:
    with _LOCK:
        _RUNNING[job_id] = (ws_id, process)


def remove(job_id: int) -> bool:
    """Forget the job; say whether a lock killed it."""
    with _LOCK:
        _RUNNING.pop(job_id, None)
        killed = job_id in _KILLED
        _KILLED.discard(job_id)
        return killed


def workspaces() -> set[int]:
    with _LOCK:
        return {ws for ws, _process in _RUNNING.values()}


def kill_workspace(ws_id: int) -> list[int]:
    with _LOCK:
        jobs = [(job, process) for job, (ws, process) in _RUNNING.items() if ws == ws_id]
        for job, process in jobs:
            _KILLED.add(job)
            sandbox.kill(process)
    return [job for job, _ in jobs]

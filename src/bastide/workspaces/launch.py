"""The first step of every sandbox (sandbox.py), run as `python -m bastide.workspaces.launch
SPEC -- bwrap …` in a process of its own, single-threaded, before it becomes bubblewrap.

Started by root (a server), it must hand the sandbox to an unprivileged host uid, or the
sandbox's user would be root in disguise (uid 1000 inside maps to 0 outside). bubblewrap run by
that uid cannot reach the platform's own files where they sit behind a private folder
(/root/.pyenv, a 0700 home): so the launcher first makes a mount namespace of its own and
binds each file the sandbox needs under one neutral folder (the staging root), then drops to
the uid, sets the resource limits and becomes bubblewrap, which binds them from there. Nothing
of the kind is done for a non-root server, whose uid is already unprivileged.

SPEC is JSON: {"uid": int|null, "root": staging folder, "stage": {name: host path}, "limits":
{"AS": bytes, "NPROC": n, "FSIZE": bytes, "CPU": seconds, "NOFILE": n}}. It holds no secret:
keys reach a sandbox on a pipe, never in its arguments or environment."""

from __future__ import annotations

import ctypes
import json
import os
import resource
import sys

CLONE_NEWNS = 0x00020000
MS_BIND, MS_REC, MS_PRIVATE = 0x1000, 0x4000, 0x40000


def _mount(libc, source: str | None, target: str, kind: str | None, flags: int, options: str | None) -> None:
    encode = lambda value: value.encode() if value is not None else None  # noqa: E731
    if libc.mount(encode(source), encode(target), encode(kind), flags, encode(options)) != 0:
        error = ctypes.get_errno()
        raise OSError(error, f"mount {source} on {target}: {os.strerror(error)}")


def stage(root: str, paths: dict[str, str]) -> None:
    """Each path bound at root/name, in a mount namespace only this process (and what it
    starts) sees; the host's mounts are untouched."""
    libc = ctypes.CDLL(None, use_errno=True)
    os.makedirs(root, mode=0o755, exist_ok=True)
    if libc.unshare(CLONE_NEWNS) != 0:
        raise OSError(ctypes.get_errno(), "unshare(CLONE_NEWNS)")
    _mount(libc, None, "/", None, MS_REC | MS_PRIVATE, None)
    _mount(libc, "bastide-stage", root, "tmpfs", 0, "mode=0755,size=1m")
    for name, source in paths.items():
        target = os.path.join(root, name)
        if os.path.isdir(source):
            os.mkdir(target, 0o755)
        else:
            open(target, "w").close()
        _mount(libc, source, target, None, MS_BIND | MS_REC, None)


def main(argv: list[str]) -> None:
    spec, command = json.loads(argv[1]), argv[3:]
    if argv[2] != "--" or not command:
        raise SystemExit("usage: python -m bastide.workspaces.launch SPEC -- bwrap ARGS")
    if spec["stage"]:
        stage(spec["root"], spec["stage"])
    uid = spec["uid"]
    if uid is not None:
        os.setgroups([])
        os.setgid(uid)
        os.setuid(uid)
    for name, value in spec["limits"].items():
        resource.setrlimit(getattr(resource, f"RLIMIT_{name}"), (value, value))
    os.execve(command[0], command, {})  # bubblewrap starts with nothing of the server's environment


if __name__ == "__main__":
    try:
        main(sys.argv)
    except OSError as exc:  # told on stderr, which the platform reads as the sandbox's output
        sys.stderr.write(f"bastide: the sandbox could not start: {exc}\n")
        raise SystemExit(125) from None

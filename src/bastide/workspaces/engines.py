"""Each workspace's engine process, seen from the platform (SPE-01, SPE-10).

Researcher SQL never runs in the platform's process: every console and API query, every query
a job sends through the gateway and every saved result goes to the workspace's own engine
(enginehost.py) in its sandbox (sandbox.py), over Arrow Flight on a unix socket. An engine is
started at its workspace's first query, with that extract version's files bound read-only (the
local store's folder, or a copy of the encrypted files fetched from S3) and its data key on a
pipe; it is kept while it is used (`workspace_engine_idle_seconds`) and stopped when its
workspace locks, its extract changes or the platform closes. Stopping kills the whole sandbox.

The platform reads answers a batch at a time and stops at the rows and bytes it was asked for:
a single message is bounded (gRPC's receive limit), so an answer cannot fill the server's memory."""

from __future__ import annotations

import contextlib
import glob
import json
import logging
import select
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from weakref import WeakKeyDictionary

import pyarrow as pa
import pyarrow.flight as flight

from bastide.config import bytes_of
from bastide.errors import Unavailable
from bastide.keys import service as key_service
from bastide.platform import Platform
from bastide.storage.local import LocalStore
from bastide.workspaces.answer import QueryFailed
from bastide.workspaces.sandbox import Limits, Sandbox, host_uid, kill, own

LOG = logging.getLogger(__name__)
GRACE_SECONDS = 10  # beyond the query's own time limit, kept by the engine, before the platform kills it
START_SECONDS = {"duckdb": 60, "spark": 300}
MESSAGE_BYTES = 64 << 20  # the largest Arrow message the platform accepts from an engine


class EngineFailed(Unavailable):
    code = "engine_failed"


@dataclass(frozen=True)
class ExtractFiles:
    """What an engine is started with: the workspace's current extract, as the catalogue says."""
    ws_id: int
    extract_id: int
    prefix: str  # in the store
    tables: dict[str, list[str]]  # name -> store keys of its files
    key_id: str
    engine: str  # duckdb | spark


@dataclass(frozen=True)
class Answer:
    table: pa.Table
    truncated: str | None  # "rows" or "bytes" when more existed than was asked for


class EngineProcess:
    """One workspace's engine in its sandbox, and the platform's Flight client to it."""

    def __init__(self, platform: Platform, files: ExtractFiles, key: bytes):
        settings = platform.settings
        self.files, self.last_used = files, time.monotonic()
        self.uid = host_uid(settings.sandbox_uid_base, files.ws_id)
        # the socket in a short private path (a unix socket's is at most 107 bytes); spill files and
        # an extract fetched from S3 on the work volume (encrypted in production, as for ingest)
        self.folder = Path(tempfile.mkdtemp(prefix="bst-engine-"))
        self.scratch = settings.resolved_work_dir / "engines" / f"ws-{files.ws_id}-{self.folder.name}"
        try:
            self.process = self._start(platform, key)
            self._wait_ready(START_SECONDS[files.engine])
        except BaseException:
            self.stop()
            raise
        self.client = flight.connect(f"grpc+unix://{self.folder / 'run' / 'engine.sock'}",
                                     generic_options=[("grpc.max_receive_message_length", MESSAGE_BYTES)])

    def _start(self, platform: Platform, key: bytes) -> subprocess.Popen:
        settings, files = platform.settings, self.files
        # started from whichever thread asked first, so not --die-with-parent: it ends when the
        # platform's end of its stdin closes, which is when this process ends (enginehost.main)
        box = Sandbox(uid=self.uid, limits=engine_limits(settings, files.engine), loopback=files.engine == "spark",
                      die_with_parent=False).python()
        box.read_only(extract_folder(platform, files, self.scratch / "extract"), "/extract")
        if files.engine == "spark":
            _spark_sandbox(box)
        box.writable(own(self.folder / "run", self.uid), "/run/bastide")
        own(self.spill, self.uid)
        box.writable(own(self.spill.parent, self.uid), "/scratch")
        self.log = open(self.folder / "engine.log", "wb")  # noqa: SIM115 - closed by stop()
        process = box.start([sys.executable, "-m", "bastide.workspaces.enginehost"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=self.log)
        config = {"engine": files.engine, "keys": {files.key_id: key.hex()},
                  "tables": sandbox_tables(files),
                  "memory_limit": settings.workspace_memory_limit, "threads": settings.duckdb_threads,
                  "spill_limit": settings.workspace_spill_limit, "connections": settings.workspace_engine_connections,
                  "spark": _spark_settings(settings) if files.engine == "spark" else {}}
        process.stdin.write(json.dumps(config).encode() + b"\n")  # the key travels on a pipe, never in argv or env
        process.stdin.flush()  # and the pipe stays open: its end is the platform's end
        return process

    def _wait_ready(self, seconds: int) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            ready, _, _ = select.select([self.process.stdout], [], [], 0.2)
            if ready:
                line = self.process.stdout.readline()
                if line.strip() == b"ready":
                    return
                if not line:  # it ended before it was ready
                    break
        LOG.error("the engine of workspace %s did not start: %s", self.files.ws_id, self.log_tail())
        raise EngineFailed("the workspace's query engine did not start; its operators have the details "
                           "(the platform's log)")

    @property
    def spill(self) -> Path:
        """Where DuckDB spills, seen from the host (/scratch/spill inside)."""
        return self.scratch / "engine" / "spill"

    def log_tail(self) -> str:
        try:
            return (self.folder / "engine.log").read_bytes()[-3000:].decode("utf-8", "replace")
        except OSError:
            return ""

    def alive(self) -> bool:
        return self.process.poll() is None

    def reader(self, sql: str, *, limit: int | None, seconds: int) -> pa.RecordBatchReader:
        """The answer as it comes; the engine's refusals and errors raise QueryFailed, when the
        query starts or while batches come. Closing the reader early tells the engine to stop."""
        self.last_used = time.monotonic()
        ticket = flight.Ticket(json.dumps({"sql": sql, "limit": limit, "seconds": seconds}).encode())
        options = flight.FlightCallOptions(timeout=seconds + GRACE_SECONDS)
        with self._failures(seconds):
            stream = self.client.do_get(ticket, options)
            schema = stream.schema
        return pa.RecordBatchReader.from_batches(schema, self._batches(stream, seconds))

    def _batches(self, stream: flight.FlightStreamReader, seconds: int) -> Iterator[pa.RecordBatch]:
        finished = False
        try:
            with self._failures(seconds):
                while True:
                    try:
                        chunk = stream.read_chunk()
                    except StopIteration:
                        finished = True
                        return
                    yield chunk.data
        except QueryFailed:
            finished = True
            raise
        finally:
            if not finished:
                with contextlib.suppress(flight.FlightError, OSError):
                    stream.cancel()
            self.last_used = time.monotonic()

    @contextlib.contextmanager
    def _failures(self, seconds: int) -> Iterator[None]:
        """The engine's answers as domain errors; an engine that fails or overruns is stopped."""
        try:
            yield
        except flight.FlightServerError as exc:
            raise _refusal(exc) from None
        except flight.FlightTimedOutError:
            self.stop()  # it did not stop on its own time: nothing it does is trusted further
            raise QueryFailed(f"the query ran longer than {seconds} s and was stopped", code="query_timeout") from None
        except (flight.FlightUnavailableError, flight.FlightInternalError, OSError) as exc:
            LOG.error("the engine of workspace %s failed: %s; %s", self.files.ws_id, exc, self.log_tail())
            self.stop()
            raise EngineFailed("the workspace's query engine stopped (too much memory, or a fault): it restarts at "
                               "the next query; make the query lighter or use a job") from None

    def answer(self, sql: str, *, rows: int, max_bytes: int, seconds: int) -> Answer:
        """At most `rows` rows and `max_bytes` bytes of the answer, and whether there was more."""
        batches, kept, size, truncated = [], 0, 0, None
        reader = self.reader(sql, limit=rows + 1, seconds=seconds)
        try:
            for batch in reader:
                if kept + batch.num_rows > rows:
                    batch, truncated = batch.slice(0, rows - kept), "rows"
                if size + batch.nbytes > max_bytes:
                    batch, truncated = _fitting(batch, max_bytes - size), "bytes"
                batches.append(batch)
                kept, size = kept + batch.num_rows, size + batch.nbytes
                if truncated:
                    break
        finally:
            reader.close()  # the engine stops sending
        return Answer(pa.Table.from_batches(batches, schema=reader.schema), truncated)

    def tables(self) -> list[str]:
        return json.loads(b"".join(r.body.to_pybytes() for r in self.client.do_action(flight.Action("tables", b""))))

    def stop(self) -> None:
        process = getattr(self, "process", None)
        if process is not None:
            kill(process)
            process.wait()
            for pipe in (process.stdin, process.stdout):
                if pipe is not None and not pipe.closed:
                    pipe.close()
        client = getattr(self, "client", None)
        if client is not None:
            client.close()
            self.client = None
        log = getattr(self, "log", None)
        if log is not None:
            log.close()
        shutil.rmtree(self.folder, ignore_errors=True)
        shutil.rmtree(self.scratch, ignore_errors=True)


def extract_folder(platform: Platform, files: ExtractFiles, scratch: Path) -> Path:
    """The extract's files, still encrypted, as a folder a sandbox binds at /extract: the local
    store's own folder, or a copy fetched from S3 into `scratch`."""
    if isinstance(platform.store, LocalStore):
        return Path(platform.store.path(files.prefix))
    for keys in files.tables.values():
        for key in keys:
            target = scratch / _inside(files.prefix, key)
            target.parent.mkdir(parents=True, exist_ok=True)
            with platform.store.reading(key) as source, open(target, "wb") as sink:
                shutil.copyfileobj(source, sink, 1 << 20)
    return scratch


def sandbox_tables(files: ExtractFiles) -> dict[str, list[str]]:
    """Each table's files as a sandbox sees them, relative to /extract."""
    return {name: [_inside(files.prefix, k) for k in keys] for name, keys in files.tables.items()}


def _fitting(batch: pa.RecordBatch, room: int) -> pa.RecordBatch:
    """The first rows of `batch` that fit in `room` bytes (no row if one does not)."""
    low, high = 0, batch.num_rows
    while low < high:
        middle = (low + high + 1) // 2
        if batch.slice(0, middle).nbytes <= room:
            low = middle
        else:
            high = middle - 1
    return batch.slice(0, low)


def _refusal(exc: flight.FlightServerError) -> QueryFailed:
    try:
        said = json.loads(exc.extra_info or b"{}")
    except ValueError:
        said = {}
    if "message" not in said:  # not one of the engine's own answers: its text is not for the researcher
        LOG.error("a workspace engine failed: %s", exc)
        return QueryFailed("the query failed in the engine; the operators have the details",
                           words="said_query_engine_failed")
    # its code (the audit's outcome) and the words a page says it in, as the engine raised them
    return QueryFailed(said["message"], code=said.get("code", QueryFailed.code), words=said.get("words"))


def _inside(prefix: str, key: str) -> str:
    """Where an extract file is in the engine's sandbox, under /extract."""
    if not key.startswith(prefix + "/"):
        raise ValueError(f"{key} is not a file of the extract at {prefix}")
    return key[len(prefix) + 1:]


def engine_limits(settings, engine: str = "duckdb") -> Limits:
    """An engine holds its memory limit's worth of data, plus what Python, Arrow and gRPC reserve;
    a JVM reserves address space well beyond its heap (metaspace, code cache, thread stacks)."""
    memory = bytes_of(settings.workspace_memory_limit)
    if engine == "spark":
        memory = max(memory, bytes_of(settings.spark_driver_memory))
        reserve = 12 << 30
    else:
        reserve = 4 << 30
    # CPU: a day's worth a thread, a net under the per-query time limit (a long-lived engine would
    # otherwise run for ever on a wedged query); reached, the engine dies and restarts at the next query
    return Limits(memory=2 * memory + reserve, processes=settings.sandbox_processes,
                  file_size=bytes_of(settings.workspace_spill_limit), tmp=bytes_of(settings.sandbox_tmp_size),
                  cpu_seconds=86_400 * max(settings.duckdb_threads, 1))


def _spark_sandbox(box: Sandbox) -> None:
    """What Spark's JVM needs in the sandbox: the KMS client's jar (built here, never inside) and
    a name to run as (no host account), few malloc arenas (each reserves address space)."""
    from bastide.workspaces.spark.jar import kms_jar

    box.read_only(kms_jar().parent, "/opt/bastide-cache/bastide").env("XDG_CACHE_HOME", "/opt/bastide-cache")
    for conf in sorted(glob.glob("/etc/java-*")):  # Debian's JDK links its security settings there
        box.read_only(conf, conf)
    box.env("HADOOP_USER_NAME", "researcher").env("SPARK_USER", "researcher").env("MALLOC_ARENA_MAX", "2")


def _spark_settings(settings) -> dict:
    return {"driver_memory": settings.spark_driver_memory, "shuffle_partitions": settings.spark_shuffle_partitions,
            "threads": settings.duckdb_threads}


class Engines:
    """The engine processes this server runs, one per workspace."""

    def __init__(self, platform: Platform):
        self.platform = platform
        self._running: dict[int, EngineProcess] = {}
        self._locks: dict[int, threading.Lock] = {}
        self._lock = threading.Lock()

    def engine(self, files: ExtractFiles) -> EngineProcess:
        """The workspace's engine on its current extract, started if need be."""
        with self._lock:
            starting = self._locks.setdefault(files.ws_id, threading.Lock())
        with starting:  # one start per workspace at a time; other workspaces are not held back
            current = self._running.get(files.ws_id)
            if current is not None and current.files == files and current.alive():
                return current
            if current is not None:
                self._forget(files.ws_id, current)
            with self.platform.db.unit_of_work() as session:
                key = key_service.unwrap_key(session, keys=self.platform.keys, key_id=files.key_id)
            started = EngineProcess(self.platform, files, key)
            with self._lock:
                self._running[files.ws_id] = started
            return started

    def _forget(self, ws_id: int, engine: EngineProcess) -> None:
        with self._lock:
            if self._running.get(ws_id) is engine:
                del self._running[ws_id]
        engine.stop()

    def stop(self, ws_id: int) -> bool:
        with self._lock:
            engine = self._running.pop(ws_id, None)
        if engine is not None:
            engine.stop()
        return engine is not None

    def stop_idle(self, seconds: float) -> list[int]:
        now = time.monotonic()
        with self._lock:
            idle = [ws for ws, engine in self._running.items() if now - engine.last_used > seconds]
        return [ws for ws in idle if self.stop(ws)]

    def workspaces(self) -> set[int]:
        with self._lock:
            return set(self._running)

    def held(self) -> dict[int, int]:
        """Workspace id -> the extract its engine serves."""
        with self._lock:
            return {ws: engine.files.extract_id for ws, engine in self._running.items()}

    def close(self) -> None:
        for ws in list(self.workspaces()):
            self.stop(ws)


def stop_unused(platform: Platform) -> list[int]:
    """Stop the engines (and so free the keys) of workspaces no longer ready (locked, shredded),
    whose extract was replaced, or unused for `workspace_engine_idle_seconds`. Run by the
    server's scheduled check; a query to a stopped engine starts it again if it may."""
    from bastide.workspaces.models import Extract, Workspace

    running = engines(platform)
    stopped = running.stop_idle(platform.settings.workspace_engine_idle_seconds)
    held = running.held()
    if held:
        with platform.db.unit_of_work() as session:
            ended = [ws_id for ws_id, extract_id in held.items()
                     if session.get(Workspace, ws_id).status != "ready" or session.get(Extract, extract_id).status != "ready"]
        stopped += [ws_id for ws_id in ended if running.stop(ws_id)]
    return stopped


_ENGINES: WeakKeyDictionary[Platform, Engines] = WeakKeyDictionary()
_ENGINES_LOCK = threading.Lock()


def engines(platform: Platform) -> Engines:
    with _ENGINES_LOCK:
        if platform not in _ENGINES:
            _ENGINES[platform] = Engines(platform)
        return _ENGINES[platform]


def close(platform: Platform) -> None:
    with _ENGINES_LOCK:
        running = _ENGINES.pop(platform, None)
    if running is not None:
        running.close()

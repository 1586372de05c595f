"""How a job reaches its data when its workspace runs on Spark (SPE-10, issues 6 and 13).

The sandbox has no network, and a national extract would not fit in its scratch folder; so the
extract is not copied into the job. Instead a unix socket is bound into the sandbox, and behind
it this gateway passes one read-only query at a time to the workspace's engine — a process in
the workspace's own sandbox (engines.py), never the platform's — which sees only the
workspace's extract and the analytics views, as the SQL console does; its time runs out with the
job's. Results come back as Arrow, at most `job_result_rows` rows and `job_result_size` bytes:
what a job models, not what it scans. Each query is audited with its text, rows and outcome, as
console queries are.

Wire format, one request per connection: 4 bytes (big-endian length) and a JSON object,
{"sql": "SELECT …"} or {"tables": true}; the answer is one JSON line ({"ok": true, …} or
{"ok": false, "error": "…"}), then for a query the result as an Arrow IPC stream."""

from __future__ import annotations

import json
import logging
import os
import shutil
import socketserver
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa

from bastide.errors import DomainError
from bastide.workspaces.answer import QueryFailed
from bastide.workspaces.engines import Answer
from bastide.workspaces.query import query_event

LOG = logging.getLogger(__name__)
REQUEST_LIMIT = 1_000_000  # bytes: a query, not data
SOCKET_NAME = "engine.sock"
CONNECTIONS = 4
IDLE_SECONDS = 60
BUSY = json.dumps({"ok": False, "code": "busy", "error": f"at most {CONNECTIONS} connections at once: "
                   "ask one query at a time"}).encode() + b"\n"


class Gateway:
    def __init__(self, *, ask: Callable[[str, int], Answer], tables: list[str], cap: int,
                 audit: Callable[[dict], None] = lambda _event: None, owner: int | None = None):
        """`ask(sql, rows)` answers a query on the workspace's engine (at most `rows` rows)."""
        # a folder of its own (0700) with a short path: a unix socket's is at most 107 bytes
        self._folder = Path(tempfile.mkdtemp(prefix="bastide-gw-"))
        self.path = self._folder / SOCKET_NAME
        self.tables, self.cap = tables, cap
        self.queries = 0
        self._ask, self._audit = ask, audit
        self._lock = threading.Lock()  # one query at a time: a job's script is sequential
        # a job cannot hold more than a few of the platform's threads, however many times it connects
        self._connections = threading.BoundedSemaphore(CONNECTIONS)
        gateway = self

        class Handler(socketserver.StreamRequestHandler):
            wbufsize = 1 << 20  # the result goes out in large writes, not one per Arrow buffer
            timeout = IDLE_SECONDS  # a connection that sends nothing, or stops reading, is dropped

            def handle(self) -> None:
                if not gateway._connections.acquire(blocking=False):
                    self.wfile.write(BUSY)
                    return
                try:
                    gateway._serve(self.rfile, self.wfile)
                finally:
                    gateway._connections.release()

        self._server = socketserver.ThreadingUnixStreamServer(str(self.path), Handler)
        self._server.daemon_threads, self._server.block_on_close = True, False
        if owner is not None:  # the sandbox's unprivileged host uid (sandbox.host_uid) connects to it
            os.chown(self.path, owner, owner)
        self.path.chmod(0o600)  # the sandbox's uid, nobody else's
        self._thread = threading.Thread(target=self._server.serve_forever, name="engine-gateway", daemon=True)

    def __enter__(self) -> Gateway:
        self._thread.start()
        return self

    def __exit__(self, *_exc) -> None:
        self.close()

    def close(self) -> None:
        """Stop answering (the job is over)."""
        self._server.shutdown()
        self._server.server_close()
        shutil.rmtree(self._folder, ignore_errors=True)

    def _serve(self, rfile, wfile) -> None:
        try:
            header, table = self._respond(rfile)
            wfile.write(json.dumps(header).encode() + b"\n")
            if table is not None:
                with pa.ipc.new_stream(wfile, table.schema) as writer:
                    writer.write_table(table.combine_chunks())  # engines stream small batches: fewer, larger ones
        except (ConnectionError, TimeoutError):  # the job went away, or stopped sending or reading
            pass

    def _respond(self, rfile) -> tuple[dict, pa.Table | None]:
        try:
            return self._run(_request(rfile))
        except DomainError as exc:
            return {"ok": False, "code": exc.code, "error": exc.message}, None
        except (ConnectionError, TimeoutError):
            raise
        except Exception:  # noqa: BLE001 - a fault of the platform's, kept out of the job's log
            LOG.exception("the engine gateway failed")
            return {"ok": False, "code": "internal_error", "error": "the platform failed to answer; "
                    "the operators have the details in its log"}, None

    def _run(self, request: dict) -> tuple[dict, pa.Table | None]:
        if request.get("tables") is True:
            return {"ok": True, "tables": sorted(self.tables)}, None
        sql = request.get("sql")
        if not isinstance(sql, str) or not sql.strip():
            raise QueryFailed('a request is {"sql": "SELECT …"} or {"tables": true}')
        began, rows, outcome = time.monotonic(), 0, "ok"
        try:
            with self._lock:
                answer = self._ask(sql, self.cap)
            if answer.truncated:
                limit = f"{self.cap:,} rows" if answer.truncated == "rows" else "the platform's job_result_size"
                raise QueryFailed(f"the result has more than {limit}: aggregate or filter in SQL, or read it in "
                                  "slices (job_result_rows and job_result_size set the limits)", code="result_too_large")
            rows = answer.table.num_rows
            self.queries += 1
            return {"ok": True, "rows": rows}, answer.table
        except DomainError as exc:
            outcome = exc.code
            raise
        finally:
            self._audit(query_event(sql, began=began, rows=rows, outcome=outcome))


def _request(rfile) -> dict:
    size = int.from_bytes(rfile.read(4), "big")
    if size > REQUEST_LIMIT:
        raise QueryFailed(f"a request is at most {REQUEST_LIMIT:,} bytes")
    try:
        request = json.loads(rfile.read(size))
    except ValueError:
        request = None
    if not isinstance(request, dict):
        raise QueryFailed("a request is a JSON object")
    return request

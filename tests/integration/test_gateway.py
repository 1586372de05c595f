"""The engine gateway (SPE-10, issues 6 and 13): what a Spark workspace's job may ask of its data,
over a unix socket, answered by the workspace's engine in its sandbox. The gateway is
engine-agnostic, so these checks run it on a DuckDB engine (fast); the Spark jobs themselves are
in test_analytics.py."""

from __future__ import annotations

import socket
import time
from contextlib import ExitStack

import pytest

from bastide import workspace
from bastide.workspaces import query
from bastide.workspaces import service as workspaces
from bastide.workspaces.engines import engines
from bastide.workspaces.gateway import CONNECTIONS, Gateway

pytestmark = pytest.mark.parametrize("deployment_kind", ["sqlite+local"], indirect=True)  # the deployment is irrelevant


@pytest.fixture
def gateway(ready, monkeypatch):
    platform, _p, _permit_id, ws_id, done = ready
    with platform.db.unit_of_work() as s:
        ws = workspaces.get_workspace(s, ws_id)
        files = query.extract_files(ws, workspaces.current_extract(s, ws), platform.settings)
    events: list[dict] = []
    opened: list = []

    def ask(sql: str, rows: int):  # what jobs._gateway does: the workspace's engine, in its sandbox
        engine = engines(platform).engine(files)
        if engine not in opened:
            opened.append(engine)
        return engine.answer(sql, rows=rows, max_bytes=10**8, seconds=2)

    cap = done.tables["IR_BEN_R"]["rows"]  # a whole table fits, one row more does not
    with Gateway(ask=ask, tables=sorted(files.tables), cap=cap, audit=events.append) as gw:
        monkeypatch.setattr(workspace, "ENGINE_SOCKET", str(gw.path))  # what the sandbox's environment says
        yield gw, done, events, opened


def _raw(path, payload: bytes) -> bytes:
    with socket.socket(socket.AF_UNIX) as channel:
        channel.connect(str(path))
        try:
            channel.sendall(payload)
            channel.shutdown(socket.SHUT_WR)  # all of the request is sent
        except BrokenPipeError:  # the gateway answered without reading (busy): its answer is still there
            pass
        with channel.makefile("rb") as answer:
            return answer.readline()


def test_a_job_reads_its_data_through_the_gateway_one_read_only_query_at_a_time(gateway):
    gw, done, events, opened = gateway
    assert workspace.tables() == ["ER_PRS_F", "IR_BEN_R"]
    assert workspace.sql("SELECT count(*) AS n FROM IR_BEN_R").to_pylist() == [{"n": done.tables["IR_BEN_R"]["rows"]}]
    assert workspace.sql("SELECT count(*) AS n FROM events").column_names == ["n"]  # the analytics layer
    assert workspace.table("IR_BEN_R").num_rows == gw.cap
    assert workspace.view("events").column_names == ["person", "category", "group_id", "value", "weight", "start", "end"]
    assert len(opened) == 1 and gw.queries == 4  # the workspace's one engine, started at the first query
    assert [e["outcome"] for e in events] == ["ok"] * 4 and events[0]["sql"].startswith("SELECT count(*)")
    with pytest.raises(workspace.QueryError, match="runs on Spark"):
        workspace.duckdb()  # nothing is copied into a Spark workspace's job

    # one read-only query at a time, within the limits (one workspace for both parts: it costs 5 s)
    for sql in ("CREATE TABLE t AS SELECT 1", "SELECT 1; SELECT 2", "COPY IR_BEN_R TO '/tmp/x.csv'",
                "SELECT * FROM read_parquet('/etc/passwd')"):
        with pytest.raises(workspace.QueryError, match="read-only|failed"):
            workspace.sql(sql)
    with pytest.raises(workspace.QueryError, match=f"more than {gw.cap:,} rows"):
        workspace.sql(f"SELECT * FROM range({gw.cap + 1})")
    assert workspace.sql(f"SELECT * FROM range({gw.cap})").num_rows == gw.cap
    with pytest.raises(workspace.QueryError, match="query failed: .*nowhere"):
        workspace.sql("SELECT * FROM nowhere")
    with pytest.raises(workspace.QueryError, match="longer than 2 s"):
        workspace.sql("SELECT count(*) FROM range(10000000000) a, range(1000) b")
    assert [e["outcome"] for e in events][-4:] == ["result_too_large", "ok", "query_failed", "query_timeout"]
    assert b"a JSON object" in _raw(gw.path, (5).to_bytes(4, "big") + b"[1,2]")
    assert b"at most" in _raw(gw.path, (10**9).to_bytes(4, "big"))
    assert b"SELECT" in _raw(gw.path, (2).to_bytes(4, "big") + b"{}")
    with ExitStack() as idle:  # a job holding connections open
        for _ in range(CONNECTIONS):
            idle.enter_context(socket.socket(socket.AF_UNIX)).connect(str(gw.path))
        for _ in range(100):  # once the gateway's threads for them have started
            reply = _raw(gw.path, b"")
            if b'"busy"' in reply:
                break
            time.sleep(0.05)
        assert b'"busy"' in reply  # no more of the platform's threads for it
    gw.close()
    assert not gw.path.exists()
    with pytest.raises(FileNotFoundError):
        workspace.sql("SELECT 1")

"""No outbound connection but to the configured endpoints (issue 17, item 5; SOV-02: no
telemetry to endpoints outside the EU; SOV-08: outbound flows known). Every process a command
starts is traced at the system-call level (strace -f: C libraries — libpq, the AWS SDK under
pyarrow, DuckDB — included, where a Python hook would see only Python's sockets): across an
ingest, a verification, a backup and the sovereignty report on PostgreSQL + S3, each connection
goes to the database or the object store, and no name is looked up (no DNS: a library phoning
home would have to)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import _fresh_postgres_db, _s3_settings

pytestmark = pytest.mark.skipif(shutil.which("strace") is None, reason="strace is not installed (./dev test installs it)")

CONNECT = re.compile(r'connect\(\d+, \{sa_family=(AF_INET6?|AF_UNIX|AF_\w+), (.*?)\}')
PORT = re.compile(r'sin6?_port=htons\((\d+)\)')
ADDRESS = re.compile(r'inet_(?:addr|pton)\((?:AF_INET6, )?"([^"]+)"')


def connections(trace: Path) -> list[tuple[str, str, int | None]]:
    found = []
    for line in trace.read_text().splitlines():
        match = CONNECT.search(line)
        if match:
            family, rest = match.groups()
            port, address = PORT.search(rest), ADDRESS.search(rest)
            found.append((family, address.group(1) if address else rest, int(port.group(1)) if port else None))
    return found


def test_commands_connect_only_to_the_configured_database_and_store(request, tmp_path, tiny_delivery):
    settings = {"database_url": _fresh_postgres_db(request.getfixturevalue("postgres_server")), **_s3_settings(request)}
    env = {**os.environ, "BASTIDE_HOME": str(tmp_path / "home"), "COLUMNS": "200",
           **{f"BASTIDE_{k.upper()}": str(v) for k, v in settings.items()}}
    allowed = {("127.0.0.1", int(settings["database_url"].rsplit(":", 1)[1].split("/")[0])),
               ("127.0.0.1", int(settings["s3_endpoint"].rsplit(":", 1)[1]))}
    backups = f"s3://{settings['store_url'].removeprefix('s3://').split('/')[0]}/backups-{tmp_path.name[-8:]}"
    trace = tmp_path / "connect.trace"
    for command in (["init"], ["base", "ingest", str(tiny_delivery), "--dataset", "snds", "--release", "2024-12"],
                    ["base", "verify", "snds@2024-12"], ["backup", "create", "--to", backups],
                    ["sovereignty", "report", "--json"], ["audit", "verify"]):
        # --seccomp-bpf: only connect() stops the traced processes (a Python start makes thousands of calls)
        subprocess.run(["strace", "-f", "--seccomp-bpf", "-qq", "-e", "trace=connect", "-o", str(trace), "-A",
                        sys.executable, "-m", "bastide.cli", *command], env=env, cwd=tmp_path, check=True,
                       capture_output=True)
    seen = connections(trace)
    inet = {(address, port) for family, address, port in seen if family in ("AF_INET", "AF_INET6")}
    assert inet >= allowed, "the trace saw the database and the store: it sees what the libraries do"
    assert inet <= allowed, f"connections to what is not configured: {sorted(inet - allowed)}"
    assert not [s for s in seen if s[2] == 53], "a name was looked up (DNS)"
    assert {family for family, _, _ in seen} <= {"AF_INET", "AF_INET6", "AF_UNIX"}

"""Reversibility (issue 17, item 4; SOV-07): `bastide export` writes everything the platform
holds in open formats another product reads without Bastide — and nothing that must not leave:
no secret, no output the airlock did not release."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys

import pyarrow.parquet as pq
import pytest
import rdflib

from bastide.base import manifest
from bastide.errors import Conflict
from bastide.export import service as export
from bastide.governance.permits import verify_file
from bastide.keys.signing import verify_document
from bastide.platform import operator_actor
from tests.integration.test_airlock import _output, _released_through, airlock_world  # noqa: F401 - a fixture

pytestmark = pytest.mark.parametrize("deployment_kind", ["sqlite+local"], indirect=True)


def _relinked(lines: list[dict]) -> bool:
    """The chain re-linked from the export alone, as its README describes."""
    prev = "0" * 64
    for event in lines:
        body = {k: event[k] for k in ("id", "at", "actor", "action", "target", "details")} | {"prev": prev}
        raw = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
        if event["prev_hash"] != prev or hashlib.sha256(raw).hexdigest() != event["hash"]:
            return False
        prev = event["hash"]
    return True


def test_everything_leaves_in_open_formats_and_nothing_that_must_not(airlock_world, tmp_path):  # noqa: F811
    platform, p, ws_id = airlock_world
    _released_through(platform, p, ws_id, "t.csv", "sex,age,n\n1,0-17,c\n1,65+,<10\n2,0-17,c\n2,65+,c\n")
    _output(platform, ws_id, "kept-inside.csv", "sex,n\n1,unreleased-figure-4217\n")
    folder = tmp_path / "export"
    done = export.export(platform, actor=operator_actor(), folder=folder)

    signed = verify_document((folder / "EXPORT.json").read_text(), public_pem=(folder / "public-key.pem").read_text(),
                             format=export.FORMAT)
    assert signed["files"] == done.files and len((folder / "SHA256SUMS").read_text().splitlines()) == len(done.files)
    everything = b"".join(p.read_bytes() for p in folder.rglob("*") if p.is_file())
    # no password hash, and an output never released is named in the metadata, its content nowhere
    assert b"$argon2" not in everything and b"unreleased-figure-4217" not in everything
    assert not [path for path in done.files if path.startswith("workspaces/") or "/outputs/" in path]

    _, entries = manifest.parse((folder / "snapshots/snds/2024-12/MANIFEST.json").read_bytes())
    ben = [e for e in entries if e.table == "IR_BEN_R"]
    rows = sum(pq.read_table(folder / "snapshots/snds/2024-12" / "/".join(e.path.split("/")[3:])).num_rows for e in ben)
    assert rows == sum(e.rows for e in ben) > 0  # plain Parquet: no key needed

    users = [json.loads(line) for line in (folder / "metadata/user_account.jsonl").read_text().splitlines()]
    assert "alice@labo.example" in {u["email"] for u in users} and not {"password_hash", "mfa_secret_wrapped"} & users[0].keys()
    assert not (folder / "metadata/web_session.jsonl").exists()
    events = [json.loads(line) for line in (folder / "audit/events.jsonl").read_text().splitlines()]
    assert _relinked(events) and events[-1]["action"] == "platform:export"
    assert any(path.startswith("releases/") and path.endswith("/t.csv") for path in done.files)
    assert any(path.startswith("releases/") and path.endswith("RELEASE.json") for path in done.files)
    (permit,) = list((folder / "permits").iterdir())
    assert verify_file(permit.read_text(), public_pem=platform.signer.public_pem())
    assert len(rdflib.Graph().parse(folder / "catalogue/snds.ttl", format="turtle")) > 50
    assert "alice" in (folder / "register.csv").read_text() or (folder / "register.csv").read_text().count("\n") >= 1

    with pytest.raises(Conflict, match="not empty"):
        export.export(platform, actor=operator_actor(), folder=folder)
    check = [sys.executable, "-m", "bastide.cli", "export", "check", str(folder), "--public-key",
             str(folder / "public-key.pem")]
    assert "valid" in subprocess.run(check, capture_output=True, text=True, check=True).stdout
    victim = next(folder.rglob("*.parquet"))
    victim.write_bytes(victim.read_bytes()[:-10])
    altered = subprocess.run(check, capture_output=True, text=True)
    assert altered.returncode == 6 and victim.name in altered.stderr

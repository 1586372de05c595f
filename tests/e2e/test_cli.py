"""The commands a user types, run as a user runs them (a subprocess each)."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.services import Relay

BASTIDE = [sys.executable, "-m", "bastide.cli"]


def run(home: Path, *args: str, check: bool = True, env: dict | None = None) -> subprocess.CompletedProcess:
    environ = {**os.environ, "BASTIDE_HOME": str(home), "COLUMNS": "200", **(env or {})}
    proc = subprocess.run([*BASTIDE, *args], capture_output=True, text=True, env=environ, cwd=home.parent)
    if check and proc.returncode:
        raise AssertionError(f"{args} exited {proc.returncode}: {proc.stderr}")
    return proc


@pytest.fixture(params=["sqlite+local", "postgresql+s3"])
def deployment(request) -> dict:
    """Environment of the two deployments: embedded defaults, and PostgreSQL + SeaweedFS."""
    if request.param == "sqlite+local":
        return {}
    from tests.conftest import _fresh_postgres_db, _s3_settings

    url = _fresh_postgres_db(request.getfixturevalue("postgres_server"))
    return {"BASTIDE_DATABASE_URL": url, **{f"BASTIDE_{k.upper()}": v for k, v in _s3_settings(request).items()}}


def _flip_a_byte(home: Path, env: dict, key_part: str) -> str:
    """Corrupt one Parquet file of the snapshot where it is stored; return its key."""
    from bastide.config import Settings
    from bastide.storage import open_store

    store = open_store(Settings(home=home, **{k.removeprefix("BASTIDE_").lower(): v for k, v in env.items()}))
    key = next(o.key for o in store.list("base/snds/2024-12") if key_part in o.key and o.key.endswith(".parquet"))
    data = bytearray(store.get_bytes(key))
    data[100] ^= 0xFF
    store.put_bytes(key, bytes(data))
    return key


@pytest.mark.slow
def test_done_when_flow(tmp_path, deployment):
    home = tmp_path / "home"
    out = tmp_path / "delivery"
    run(home, "synth", "snds", "--beneficiaries", "2000", "--out", str(out), "--gzip")
    run(home, "init", env=deployment)
    ingest = run(home, "base", "ingest", str(out), "--dataset", "snds", "--release", "2024-12", env=deployment)
    assert "published snds@2024-12" in ingest.stdout
    assert "ok snds@2024-12" in run(home, "base", "verify", "snds@2024-12", env=deployment).stdout
    assert "snds@2024-12" in run(home, "base", "snapshots", "snds", env=deployment).stdout
    assert "ER_PRS_F" in run(home, "catalogue", "show", "snds@2024-12", env=deployment).stdout
    assert "BEN_NIR_PSA" in run(home, "catalogue", "show", "snds@2024-12:IR_BEN_R", env=deployment).stdout
    assert "healthdcatap" in run(home, "catalogue", "export", "snds", "--format", "turtle", env=deployment).stdout
    assert "intact" in run(home, "audit", "verify", env=deployment).stdout
    victim = _flip_a_byte(home, deployment, "/IR_BEN_R/")
    failed = run(home, "base", "verify", "snds@2024-12", check=False, env=deployment)
    assert failed.returncode == 6 and victim in failed.stderr


def test_a_data_holder_checks_the_signature_with_openssl(tmp_path, small_delivery):
    """The manifest's signature verifies with the exported public key and stock OpenSSL."""
    home = tmp_path / "home"
    run(home, "init")
    run(home, "base", "ingest", str(small_delivery), "--dataset", "snds", "--release", "2024-12")
    (tmp_path / "bastide.pub").write_text(run(home, "public-key").stdout)
    prefix = home / "store" / "base" / "snds" / "2024-12"
    cmd = ["openssl", "pkeyutl", "-verify", "-pubin", "-inkey", str(tmp_path / "bastide.pub"), "-rawin",
           "-in", str(prefix / "MANIFEST.json"), "-sigfile", str(prefix / "MANIFEST.json.sig")]
    assert "Signature Verified Successfully" in subprocess.run(cmd, capture_output=True, text=True).stdout
    manifest = (prefix / "MANIFEST.json").read_text()
    tampered = re.sub(r'"rows": (\d+)', lambda m: f'"rows": {int(m.group(1)) + 1}', manifest, count=1)
    assert tampered != manifest
    (prefix / "MANIFEST.json").write_text(tampered)
    assert subprocess.run(cmd, capture_output=True, text=True).returncode != 0


def test_errors_are_one_clear_line_without_traceback(tmp_path):
    home = tmp_path / "home"
    not_ready = run(home, "base", "snapshots", "snds", check=False)
    assert not_ready.returncode != 0 and "bastide init" in not_ready.stderr and "Traceback" not in not_ready.stderr
    run(home, "init")
    missing = run(home, "base", "ingest", str(tmp_path / "nope"), "--dataset", "snds", "--release", "r", check=False)
    assert missing.returncode == 2 and "does not exist" in missing.stderr and "Traceback" not in missing.stderr
    for option, value in (("--schema-drift", "maybe"), ("--delimiter", "#")):
        bad = run(home, "base", "ingest", str(tmp_path), "--dataset", "snds", "--release", "r", option, value,
                  check=False)
        assert bad.returncode == 2 and f"unsupported {option}" in bad.stderr and "Traceback" not in bad.stderr
    bad_ref = run(home, "base", "verify", "snds-2024", check=False)
    assert bad_ref.returncode == 2 and "DATASET@RELEASE" in bad_ref.stderr
    bad_setting = run(home, "catalogue", "list", check=False, env={"BASTIDE_DUCKDB_THREADS": "zero"})
    assert bad_setting.returncode == 78 and "duckdb_threads" in bad_setting.stderr


@pytest.mark.slow
def test_kill_9_mid_ingest_leaves_nothing_visible_and_rerun_succeeds(tmp_path, small_delivery):
    home, out = tmp_path / "home", small_delivery  # ~150 files: the kill lands at the first of them
    run(home, "init")
    beats = {"BASTIDE_HEARTBEAT_SECONDS": "1"}  # the ingest stamps its snapshot every second while alive
    env = {**os.environ, "BASTIDE_HOME": str(home), **beats}
    proc = subprocess.Popen([*BASTIDE, "base", "ingest", str(out), "--dataset", "snds", "--release", "r1"],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=tmp_path)
    store = home / "store" / "base" / "snds" / "r1"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not any(store.rglob("*.parquet")):
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert run(home, "base", "verify", "snds@r1", check=False).returncode == 4  # not found: never published
    assert "r1" not in run(home, "base", "snapshots", "snds", check=False).stdout
    deadline, said = time.monotonic() + 30, ""
    while "ended the ingest" not in said and time.monotonic() < deadline:  # once silent for four beats
        said = run(home, "recover", env=beats).stdout
    assert "ended the ingest of snds@r1" in said and not any(store.rglob("*.parquet"))  # its half-written objects go
    assert "nothing to end" in run(home, "recover", env=beats).stdout
    run(home, "base", "ingest", str(out), "--dataset", "snds", "--release", "r1")
    assert run(home, "base", "verify", "snds@r1").returncode == 0


@pytest.mark.slow
def test_up_loads_a_sample_and_serves_the_catalogue(tmp_path):
    import json
    import urllib.request

    from tests.services import free_port, wait_port

    home, port = tmp_path / "home", free_port()
    env = {**os.environ, "BASTIDE_HOME": str(home)}
    proc = subprocess.Popen([*BASTIDE, "up", "--port", str(port)], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, cwd=tmp_path)
    try:
        wait_port(port, timeout=120)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health") as r:
            assert json.load(r)["status"] == "ok"
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/catalogue/datasets/snds/snapshots") as r:
            assert [s["ref"] for s in json.load(r)] == ["snds@sample"]
        workers = _until_said(home, "workers", "alive")  # a worker beside the server: builds and jobs are its
        assert "builds: 0 waiting" in workers and "jobs: 0 waiting" in workers
        run(home, "users", "create-org", "HDH", "--sector", "public")
        made = run(home, "users", "create", "ada@hdh.example", "--name", "Ada", "--org", "HDH",
                   "--role", "administrator", "--until", "2030-12-31").stdout
        assert f"http://localhost:{port}/activate/" in made  # where this server listens (issue 18, item 10)
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=30)
    assert f"http://localhost:{port}/" in out and "bastide users create" in out  # how to make the first account
    assert "alive" not in run(home, "workers").stdout  # stopped with the server, cleanly
    again = run(home, "users", "activation", "ada@hdh.example").stdout
    assert "http://localhost:8000/activate/" in again  # no server now: BASTIDE_PUBLIC_URL's default


@pytest.mark.slow
def test_the_worker_of_a_killed_server_does_not_outlive_it(tmp_path):
    """`bastide up` SIGKILLed cannot stop its worker: the worker sees its parent gone and stops."""
    from tests.services import free_port, wait_port

    home, port = tmp_path / "home", free_port()
    run(home, "init")
    server = subprocess.Popen([*BASTIDE, "up", "--no-sample", "--port", str(port)], cwd=tmp_path,
                              env={**os.environ, "BASTIDE_HOME": str(home)}, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        wait_port(port, timeout=60, alive=server)
        listed = _until_said(home, "workers", "alive")
        pid = int(re.search(r"worker@\S+?:(\d+):", listed).group(1))
    finally:
        server.send_signal(signal.SIGKILL)
        server.wait()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and Path(f"/proc/{pid}").exists() and "zombie" not in _state(pid):
        time.sleep(0.2)
    assert not Path(f"/proc/{pid}").exists() or "zombie" in _state(pid), "the worker outlived its server"
    assert "alive" not in run(home, "workers").stdout  # and it stopped cleanly


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return "zombie"  # gone meanwhile


def _until_said(home: Path, command: str, words: str, seconds: float = 30) -> str:
    deadline = time.monotonic() + seconds
    while words not in (said := run(home, command).stdout) and time.monotonic() < deadline:
        time.sleep(0.5)
    return said


def test_users_commands(tmp_path):
    home = tmp_path / "home"
    run(home, "init")
    run(home, "users", "create-org", "INSERM", "--sector", "public")
    created = run(home, "users", "create", "alice@inserm.example", "--name", "Alice", "--org", "INSERM",
                  "--role", "researcher", "--until", "2030-12-31").stdout
    link = created.strip().splitlines()[-1]
    assert link.startswith("http://localhost:8000/activate/")  # BASTIDE_PUBLIC_URL's default
    again = run(home, "users", "activation", "alice@inserm.example").stdout.strip().splitlines()[-1]
    assert again != link and again.startswith("http://localhost:8000/activate/")
    with Relay() as relay:  # with a mail relay the link goes to the person only (issue 18, item 9)
        mailed = run(home, "users", "activation", "alice@inserm.example",
                     env={"BASTIDE_MAIL_URL": relay.url, "BASTIDE_PUBLIC_URL": "https://donnees.example"}).stdout
    assert "mailed to alice@inserm.example" in mailed and "/activate/" not in mailed
    (message,) = relay.received
    assert message["To"] == "alice@inserm.example"
    assert "https://donnees.example/activate/" in message.get_payload(decode=True).decode()
    listed = run(home, "users", "list").stdout
    assert "alice@inserm.example" in listed and "researcher" in listed and "2030-12-31" in listed
    sod = run(home, "users", "create", "bob@inserm.example", "--name", "Bob", "--org", "INSERM",
              "--role", "researcher", "--role", "output_checker", "--until", "2030-12-31", check=False)
    assert sod.returncode == 2 and "separation of duties" in sod.stderr and "Traceback" not in sod.stderr
    bad_date = run(home, "users", "create", "c@x.example", "--name", "C", "--org", "INSERM", "--role", "researcher",
                   "--until", "someday", check=False)
    assert bad_date.returncode == 2 and "YYYY-MM-DD" in bad_date.stdout + bad_date.stderr
    assert "disabled" in run(home, "users", "disable", "alice@inserm.example", "--reason", "left").stdout
    assert "enabled" in run(home, "users", "enable", "alice@inserm.example").stdout  # issue 16, item 6
    assert "intact" in run(home, "audit", "verify").stdout
    assert "ran 0 build(s) and 0 job(s)" in run(home, "worker", "--once").stdout  # from cron: checks, then the queue
    assert "0 waiting" in run(home, "workers").stdout


def test_governance_operator_commands(tmp_path):
    """`bastide optout import`, `permits expire`, `register export`: the operator's cron and files."""
    home = tmp_path / "home"
    run(home, "init")
    optouts = tmp_path / "optouts.txt"
    optouts.write_text("PSA-1\nPSA-2\n\nPSA-1\n")
    assert "2 new opt-out(s), 2 in the registry" in run(home, "optout", "import", str(optouts)).stdout
    missing = run(home, "optout", "import", str(tmp_path / "nope.txt"), check=False)
    assert missing.returncode == 2 and "cannot read" in missing.stderr
    assert "expired 0 permit(s)" in run(home, "permits", "expire").stdout
    out = tmp_path / "register.csv"
    run(home, "register", "export", "--out", str(out))
    assert out.read_text().startswith("reference,title,organisation")
    wrong = run(home, "register", "export", "--out", str(out), "--format", "xml", check=False)
    assert wrong.returncode == 2 and "csv or json" in wrong.stderr


def test_airlock_check_exits_non_zero_on_a_blocked_output_and_says_which_cell(tmp_path):
    """SPE-08: the researcher checks before asking; no platform needed."""
    (tmp_path / "small.csv").write_text("sex,age,n\n1,0-17,120\n1,65+,7\n2,0-17,110\n2,65+,45\n")
    (tmp_path / "fine.csv").write_text("sex,n\n1,120\n2,110\n")
    blocked = run(tmp_path / "home", "airlock", "check", str(tmp_path / "small.csv"), check=False)
    assert blocked.returncode == 1 and "sex=1, age=65+" in blocked.stdout and "counts 7" in blocked.stdout
    fine = run(tmp_path / "home", "airlock", "check", "--json", str(tmp_path / "fine.csv"))
    assert json.loads(fine.stdout)[0]["status"] == "pass"
    missing = run(tmp_path / "home", "airlock", "check", str(tmp_path / "nope.csv"), check=False)
    assert missing.returncode == 1 and "is not a file" in missing.stdout and "Traceback" not in missing.stderr
    # issue 14 "Why" 5: a French spreadsheet's CSV (';', decimal comma, Windows-1252) is read, its 7 blocked
    (tmp_path / "fr.csv").write_bytes("sexe;âge;n;montant\n1;0-17;120;12,5\n1;65+;7;3,25\n2;0-17;110;1,0\n"
                                      "2;65+;45;7,75\n".encode("cp1252"))
    french = run(tmp_path / "home", "airlock", "check", str(tmp_path / "fr.csv"), check=False)
    assert french.returncode == 1 and "âge=65+" in french.stdout
    (tmp_path / "plot.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    review = run(tmp_path / "home", "airlock", "check", str(tmp_path / "plot.png"), str(tmp_path / "fine.csv"),
                 check=False)
    assert review.returncode == 2 and "REVIEW" in review.stdout  # nothing blocked, a checker must look


def test_audit_verify_holds_the_chain_against_checkpoints_kept_outside(tmp_path):
    """Issue 14 "Why" 7: the last events deleted on the database, the head moved: the chain alone
    verifies; against the signed checkpoints an auditor exported (and the public key) it does not."""
    import sqlite3

    home = tmp_path / "home"
    run(home, "init")
    for i in range(3):
        run(home, "users", "create-org", f"Org {i}", "--sector", "public")
    run(home, "audit", "checkpoint")
    kept, key = tmp_path / "checkpoints.json", tmp_path / "bastide.pub"
    run(home, "audit", "checkpoints", "--out", str(kept))
    key.write_text(run(home, "public-key").stdout)
    assert "holds against 1 signed checkpoint" in run(home, "audit", "verify", "--checkpoints", str(kept),
                                                     "--public-key", str(key)).stdout
    with sqlite3.connect(home / "bastide.db") as db:  # what the owner of a copy can do
        db.execute("DROP TRIGGER audit_event_no_delete")
        last = db.execute("SELECT max(id) FROM audit_event").fetchone()[0]
        db.execute("DELETE FROM audit_event WHERE id > ?", (last - 2,))
        db.execute("UPDATE audit_head SET last_id = ?, last_hash = (SELECT hash FROM audit_event WHERE id = ?)",
                   (last - 2, last - 2))
    broken = run(home, "audit", "verify", "--checkpoints", str(kept), "--public-key", str(key), check=False)
    assert broken.returncode == 6 and "events were deleted" in broken.stderr and "Traceback" not in broken.stderr


def test_init_makes_the_keys_in_the_hsm_and_a_refused_pin_is_one_clear_line(tmp_path, hsm):
    """Issue 17, item 1: with BASTIDE_KEY_BACKEND=pkcs11 `bastide init` makes the master and signing
    keys in the token (no key file); a PIN the token refuses stops every command with what to mend."""
    env = {f"BASTIDE_{name.upper()}": str(value) for name, value in hsm.items()}
    env["BASTIDE_PKCS11_KEY_LABEL"] = tmp_path.name  # keys of its own in the test process's token
    home = tmp_path / "home"
    made = run(home, "init", env=env)
    assert "pkcs11:token=bastide-test" in made.stdout + made.stderr and not (home / "keys").exists()
    assert run(home, "public-key", env=env).stdout.startswith("-----BEGIN PUBLIC KEY-----")
    rotated = run(home, "keys", "rotate", env=env).stdout
    assert "rotated the master key pkcs11:token=bastide-test" in rotated and "0 data keys" in rotated
    wrong = tmp_path / "wrong-pin"
    wrong.write_text("00000000\n")
    wrong.chmod(0o600)
    refused = run(home, "public-key", check=False, env={**env, "BASTIDE_PKCS11_PIN_FILE": str(wrong)})
    assert refused.returncode != 0 and "refused the PIN" in refused.stderr and "Traceback" not in refused.stderr


@pytest.mark.slow
def test_backup_then_restore_on_a_new_machine(tmp_path, tiny_delivery):
    """Issue 17, item 2 (RES-01): the operator's runbook (docs/operations.md) as typed — back up,
    list, verify; on a new home given the key files, restore, and the platform verifies whole."""
    home, repository = tmp_path / "home", str(tmp_path / "backups")
    run(home, "init")
    run(home, "base", "ingest", str(tiny_delivery), "--dataset", "snds", "--release", "2024-12")
    made = run(home, "backup", "create", "--to", repository).stdout
    assert re.search(r"backup \S+ written to .*: [\d,]+ rows, \d+ objects", made), made
    assert len(re.findall(r"sqlite\+local", run(home, "backup", "list", "--from", repository).stdout)) == 1
    assert " ok: " in run(home, "backup", "verify", "--from", repository).stdout

    new = tmp_path / "new-machine" / "home"
    new.parent.mkdir()
    refused = run(new, "backup", "restore", "--from", repository, check=False)
    assert refused.returncode != 0 and "master key" in refused.stderr and "Traceback" not in refused.stderr
    (new / "keys").mkdir(parents=True, exist_ok=True)
    for key in ("master.key", "signing.pem"):
        (new / "keys" / key).write_bytes((home / "keys" / key).read_bytes())
        (new / "keys" / key).chmod(0o600)
    restored = run(new, "backup", "restore", "--from", repository).stdout
    assert "✓ snapshot snds@2024-12" in restored and "✓ audit chain" in restored
    assert "intact" in run(new, "audit", "verify").stdout


@pytest.mark.slow
def test_migrate_to_postgresql_s3_and_an_hsm_killed_midway_resumes_and_signs_its_report(
        tmp_path, tiny_delivery, hsm, postgres_server, s3_server):
    """Issue 17, item 3, as the operator types it: SQLite + a folder + key files moved to
    PostgreSQL + S3 + an HSM; `kill -9` mid-copy; run again, it resumes; the data holder checks
    the signed transfer report offline; the target verifies whole with its keys in the token."""
    from tests.conftest import _fresh_postgres_db
    from tests.services import S3_ACCESS, S3_SECRET

    home, target_home = tmp_path / "home", tmp_path / "target"
    run(home, "init")
    run(home, "base", "ingest", str(tiny_delivery), "--dataset", "snds", "--release", "2024-12")
    server, endpoint = s3_server
    settings = {"home": str(target_home), "env": "test", "database_url": _fresh_postgres_db(postgres_server),
                "store_url": f"s3://{server.fresh_prefix()}/bastide", "s3_endpoint": endpoint,
                "s3_access_key": S3_ACCESS, "s3_secret_key": S3_SECRET, "key_backend": "pkcs11",
                "pkcs11_module": str(hsm["pkcs11_module"]), "pkcs11_token_label": hsm["pkcs11_token_label"],
                "pkcs11_pin_file": str(hsm["pkcs11_pin_file"]), "pkcs11_key_label": f"mig-{tmp_path.name[-12:]}"}
    config = tmp_path / "target.toml"
    config.write_text("[bastide]\n" + "".join(f"{k} = {json.dumps(v)}\n" for k, v in settings.items()))

    env = {**os.environ, "BASTIDE_HOME": str(home)}
    proc = subprocess.Popen([*BASTIDE, "migrate", "--to", str(config)], env=env, cwd=tmp_path,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline, journal = time.monotonic() + 60, []
    while time.monotonic() < deadline and len(journal) < 5 and proc.poll() is None:
        journal = [line for f in (home / "migrations").glob("*.jsonl") for line in f.read_text().splitlines()
                   if line.startswith('{"key"')]  # an object moved (not the keys a pass means to write)
        time.sleep(0.001)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL and not list((home / "migrations").glob("*-report.json"))
    total = sum(1 for p in (home / "store").rglob("*") if p.is_file())

    done = run(home, "migrate", "--to", str(config)).stdout
    copied = int(re.search(r"copied (\d+) objects", done).group(1))
    assert 0 < copied <= total - 5, done  # what the killed run had moved was not moved again
    report = Path(re.search(r"signed transfer report: (\S+)", done).group(1))
    (tmp_path / "platform.pub").write_text(run(home, "public-key").stdout)
    checked = run(home, "migrate", "check-report", str(report), "--public-key", str(tmp_path / "platform.pub"))
    assert "valid" in checked.stdout and f"{total} objects" in checked.stdout
    report.write_text(report.read_text().replace('"count": ', '"count": 1'))
    altered = run(home, "migrate", "check-report", str(report), "--public-key", str(tmp_path / "platform.pub"),
                  check=False)
    assert altered.returncode == 6 and "invalid" in altered.stderr

    on_target = {"BASTIDE_CONFIG_FILE": str(config)}
    assert "ok snds@2024-12" in run(target_home, "base", "verify", "snds@2024-12", env=on_target).stdout
    assert "intact" in run(target_home, "audit", "verify", env=on_target).stdout
    assert run(target_home, "public-key", env=on_target).stdout == (tmp_path / "platform.pub").read_text()
    assert not (target_home / "keys").exists()  # the master and signing keys are in the token


def test_sovereignty_report_flags_what_the_register_does_not_cover_and_signs_itself(tmp_path):
    """Issue 17, item 5: the report as an operator reads it, and `--strict` for a deployment check."""
    home = tmp_path / "home"
    run(home, "init")
    register = tmp_path / "operators.toml"
    register.write_text('[[operator]]\nname = "Hébergeur SAS"\njurisdiction = "FR"\nserves = ["localhost"]\n')
    env = {"BASTIDE_SOVEREIGNTY_REGISTER": str(register)}
    table = run(home, "sovereignty", "report", env=env)
    assert "Hébergeur SAS" in table.stdout and "flag:" not in table.stderr and "CycloneDX 1.6" in table.stdout
    assert run(home, "sovereignty", "report", "--strict", env=env).returncode == 0
    mail = {**env, "BASTIDE_MAIL_URL": "smtp://relay.elsewhere.example:25"}
    flagged = run(home, "sovereignty", "report", "--strict", "--out", str(tmp_path / "r.json"), env=mail, check=False)
    assert flagged.returncode == 1 and "mail relay relay.elsewhere.example: not in the register" in flagged.stderr
    signed = json.loads((tmp_path / "r.json").read_text())
    assert signed["document"]["format"] == "bastide-sovereignty/1" and signed["signature"]

"""Load and sign-in storm on a running server, SQLite or PostgreSQL (issue 16, item 5).

    .venv/bin/pip install -e ".[bench]"                   # locust, once
    .venv/bin/python bench/load.py                        # SQLite, then: --database postgresql

The bench makes a platform (a synthetic SNDS of --beneficiaries people ingested, accounts, a
permit and its provisioned workspace), starts `bastide up --no-sample` on it (one uvicorn
process, as shipped) and drives it with locust, headless, in a process of its own:

1. the mix: visitors : applicants : researchers = 40 : 8 : 2 (bench/locustfile.py says what each
   does), at 50 then 100 users, --seconds each; per route requests/s, p50/p95/p99, errors;
   goals: 0 errors at 100 users, public pages p95 < 100 ms, workspace queries p95 < 300 ms;
2. the storm: 200 clients signing in with wrong passwords, each try from its own address and for
   its own account (so every try costs an Argon2 check), while 5 probers read /health and two
   public pages. The baseline is the same 5 probers on the same server just before, with no storm
   (the same statistic: p95 per route over --seconds); goal: the probes' p95 < 100 ms in the storm.
The server, locust and this script share the machine's cores (2 here): the figures are the
whole machine's, as a small deployment would see them.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import date, timedelta
from pathlib import Path

from bastide.base.ingest import IngestRequest, ingest
from bastide.config import Settings
from bastide.identity import credentials
from bastide.identity import service as identity
from bastide.platform import Platform, operator_actor
from bastide.workspaces import service as workspaces

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))
from extract import granted_permit  # noqa: E402
from ingest import delivery  # noqa: E402 - the same cached synthetic delivery as bench/ingest.py

from tests.services import Postgres, free_port  # noqa: E402 - the throwaway cluster the tests use

RELEASE = "bench"
RAMP = 10  # seconds over which a run's users arrive (not measured)
PUBLIC = ("/", "/calls", "/register", "/health", "/api/catalogue/datasets", "/api/register",
          "/api/catalogue/…/{release}")
MIX = ["Visitor", "Applicant", "Researcher"]


def settings_env(home: Path, database_url: str | None) -> dict:
    env = {"BASTIDE_HOME": str(home), "BASTIDE_ENV": "test", "BASTIDE_WORKSPACE_DAILY_ROWS": str(10**9)}
    if database_url:
        env["BASTIDE_DATABASE_URL"] = database_url
    return env


def _signed_in(session, platform: Platform, user) -> dict:
    user.mfa_confirmed = True
    identity.accept_terms(session, user=user, version=platform.settings.terms_version)
    secret = credentials.open_session(session, user=user)
    return {"secret": secret, "csrf": credentials.csrf_token(secret)}


def make_world(platform: Platform, source: Path, applicants: int) -> dict:
    """The snapshot, a provisioned workspace and its researcher, applicants signed in."""
    ingest(platform, actor=operator_actor(), request=IngestRequest(str(source), "snds", RELEASE))
    scope = {"snapshot": f"snds@{RELEASE}", "tables": ["ER_PRS_F"], "years": [2023],
             "population": {"sex": [2], "age_min": 20, "age_max": 64}}
    permit_id, researcher = granted_permit(platform, scope)
    done = workspaces.provision(platform, actor=operator_actor(), permit_id=permit_id)
    with platform.db.unit_of_work() as s:
        ws = next(w for w in workspaces.list_workspaces(s) if w.reference == done.workspace)
        lab = identity.create_organisation(s, actor=operator_actor(), name="Load", sector="public")
        until = date.today() + timedelta(days=30)
        people = [identity.create_user(s, actor=operator_actor(), email=f"applicant{i}@load.example", name=f"A{i}",
                                       organisation=lab, roles={"researcher"}, end_of_rights=until)
                  for i in range(applicants)]
        return {"release": RELEASE, "workspace": ws.id,
                "researchers": [_signed_in(s, platform, identity.get_user(s, researcher.id.split(":", 1)[1]))],
                "applicants": [_signed_in(s, platform, p) for p in people]}


def serve(env: dict, port: int, log: Path) -> subprocess.Popen:
    server = subprocess.Popen([str(Path(sys.executable).parent / "bastide"), "up", "--no-sample", "--port", str(port)],
                              env={**os.environ, **env}, stdout=log.open("w"), stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2):
                return server
        except OSError:
            time.sleep(0.3)
    server.kill()
    raise SystemExit(f"the server did not answer /health within 60 s: see {log}")


def warm(url: str, world: dict) -> None:
    """One query first, as both sides of a comparison get: it starts the workspace's engine (seconds,
    once per workspace) and reads the extract's files into the page cache."""
    researcher = world["researchers"][0]
    request = urllib.request.Request(
        f"{url}/api/workspaces/{world['workspace']}/queries", method="POST",
        data=json.dumps({"sql": "SELECT count(*) FROM ER_PRS_F"}).encode(),
        headers={"Content-Type": "application/json", "Cookie": f"bastide_session={researcher['secret']}",
                 "X-CSRF-Token": researcher["csrf"]})
    with urllib.request.urlopen(request, timeout=120) as answer:
        answer.read()


def locust(url: str, world: Path, classes: list[str], users: int, seconds: int, prefix: Path) -> list[dict]:
    """One headless locust run; its per-route rows (locust's CSV: percentiles in ms)."""
    # users arrive over RAMP seconds, then the statistics restart: the figures are the steady state's
    command = [str(Path(sys.executable).parent / "locust"), "-f", str(HERE / "locustfile.py"), "--headless",
               "--users", str(users), "--spawn-rate", f"{users / RAMP:.2f}", "--reset-stats",
               "--run-time", f"{seconds + RAMP}s", "--host", url, "--csv", str(prefix), "--only-summary",
               "--loglevel", "WARNING", "--exit-code-on-error", "0", *classes]
    subprocess.run(command, check=True, env={**os.environ, "BENCH_WORLD": str(world)},
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    with open(f"{prefix}_failures.csv", newline="") as fh:
        for row in csv.DictReader(fh):
            print(f"  failed {row['Occurrences']}x: {row['Method']} {row['Name']}: {row['Error'][:200]}")
    with open(f"{prefix}_stats.csv", newline="") as fh:
        return [row for row in csv.DictReader(fh) if row["Name"] != "Aggregated"]


def table(title: str, rows: list[dict], seconds: int) -> None:
    print(f"\n{title}")
    print(f"  {'route':44} {'req/s':>7} {'p50':>6} {'p95':>6} {'p99':>6} {'errors':>7}")
    for r in sorted(rows, key=lambda r: r["Name"]):
        print(f"  {r['Type'] + ' ' + r['Name']:44} {float(r['Requests/s']):7.1f} {r['50%']:>6} {r['95%']:>6} "
              f"{r['99%']:>6} {r['Failure Count']:>7}")
    total = sum(int(r["Request Count"]) for r in rows)
    print(f"  {total:,} requests in {seconds} s, {sum(int(r['Failure Count']) for r in rows)} errors")


def goals(rows: list[dict]) -> list[str]:
    missed = [f"{r['Name']}: {r['Failure Count']} errors" for r in rows if int(r["Failure Count"])]
    missed += [f"{r['Name']}: p95 {r['95%']} ms (public page goal < 100)" for r in rows
               if r["Name"] in PUBLIC and float(r["95%"]) >= 100]
    missed += [f"{r['Name']}: p95 {r['95%']} ms (workspace query goal < 300)" for r in rows
               if "queries" in r["Name"] and float(r["95%"]) >= 300]
    return missed


def storm(url: str, world: Path, seconds: int, out: Path, clients: int) -> list[str]:
    quiet = locust(url, world, ["Prober"], 5, seconds, out / "quiet")
    stormy = locust(url, world, ["StormClient", "Prober"], clients + 5, seconds, out / "storm")
    table("probes, no storm (baseline)", quiet, seconds)
    table(f"probes during a storm of {clients} wrong-password clients", stormy, seconds)
    before = {r["Name"]: float(r["95%"]) for r in quiet}
    for r in stormy:
        if r["Name"] in before:
            print(f"  {r['Name']}: p95 {r['95%']} ms in the storm vs {before[r['Name']]:.0f} ms without "
                  f"-> {float(r['95%']) / max(before[r['Name']], 1):.1f}x")
    return [f"{r['Name']} in the storm: p95 {r['95%']} ms (goal < 100)" for r in stormy
            if r["Name"] in before and float(r["95%"]) >= 100]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--beneficiaries", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--users", default="50,100", help="the mix's sizes, one run each")
    parser.add_argument("--seconds", type=int, default=60, help="length of each run")
    parser.add_argument("--storm", type=int, default=200, help="wrong-password clients (0: no storm)")
    parser.add_argument("--out", type=Path, default=HERE / "out")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    postgres = Postgres(fsync=True) if args.database == "postgresql" else None
    with tempfile.TemporaryDirectory(prefix="bastide-load-") as tmp:
        home, out = Path(tmp) / "home", Path(tmp)
        env = settings_env(home, postgres.start() if postgres else None)
        server = None
        try:
            platform = Platform(Settings(home=home, env="test", database_url=env.get("BASTIDE_DATABASE_URL")))
            platform.init(operator_actor())
            world = out / "world.json"
            world.write_text(json.dumps(make_world(platform, delivery(args.out, args.beneficiaries, args.seed), 8)))
            platform.close()
            port = free_port()
            server = serve(env, port, out / "server.log")
            url = f"http://127.0.0.1:{port}"
            warm(url, json.loads(world.read_text()))
            print(f"{args.database}: server {url}, {args.beneficiaries:,} people, {args.seconds} s per run, "
                  f"{os.cpu_count()} cores shared by the server and locust")
            missed = []
            for users in (int(u) for u in args.users.split(",")):
                rows = locust(url, world, MIX, users, args.seconds, out / f"mix{users}")
                table(f"the mix 40:8:2 at {users} users", rows, args.seconds)
                missed += [f"{users} users, {m}" for m in goals(rows)]
            if args.storm:
                missed += storm(url, world, args.seconds, out, args.storm)
            print("\ngoals met" if not missed else "\ngoals missed:\n  " + "\n  ".join(missed))
        finally:
            if server:
                server.terminate()
                try:
                    server.wait(30)
                except subprocess.TimeoutExpired:  # a keep-alive connection left open holds uvicorn
                    server.kill()
            if postgres:
                postgres.stop()


if __name__ == "__main__":
    main()

"""Governance paths, as ratios to baselines measured in the same run.

    .venv/bin/python bench/governance.py --applications 5000
    .venv/bin/python bench/governance.py --applications 5000 --database-url postgresql+psycopg://...

1. sign-in: POST /api/auth/login (Argon2id + TOTP + session + audit) vs one bare
   argon2-cffi `verify` of the same hash — the password hash is meant to dominate;
2. the guard: GET /api/auth/me with a session (lookup, account checks, bookkeeping write)
   vs GET /api/calls, a public route with one small query, through the same client;
3. the public register: `register.entries` + CSV for N submitted applications vs one raw SQL
   SELECT of the same columns (JSON ones as raw text) written as they come with the csv module.
"""

from __future__ import annotations

import argparse
import csv
import io
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

import pyotp
from argon2 import PasswordHasher
from fastapi.testclient import TestClient
from sqlalchemy import text

from bastide.server import create_app
from bastide.config import Settings
from bastide.governance import register
from bastide.governance import service as gov
from bastide.governance.models import Application
from bastide.identity import credentials
from bastide.identity import service as identity
from bastide.platform import Platform, operator_actor

PASSWORD = "correct horse battery staple"


def account(platform: Platform) -> str:
    """An activated instructor account, as the activation link leaves it; returns the TOTP secret."""
    from urllib.parse import parse_qs, urlparse

    with platform.db.unit_of_work() as s:
        org = identity.create_organisation(s, actor=operator_actor(), name="HDH", sector="public")
        user = identity.create_user(s, actor=operator_actor(), email="a@hdh.example", name="A", organisation=org,
                                    roles={"instructor"}, end_of_rights=date.today() + timedelta(days=30))
        link = credentials.issue_activation(s, actor=operator_actor(), user=user)
        enrolment = credentials.activate(s, keys=platform.keys, secret=link, password=PASSWORD)
        secret = parse_qs(urlparse(enrolment.uri).query)["secret"][0]
        credentials.confirm_activation(s, keys=platform.keys, secret=link, code=pyotp.TOTP(secret).now())
        user.mfa_last_step = 0
    return secret


def timed(fn, repeat: int) -> float:
    began = time.perf_counter()
    for _ in range(repeat):
        fn()
    return (time.perf_counter() - began) / repeat


def seed(platform: Platform, count: int) -> None:
    form = {"purpose": "e", "use": "cohort study", "data": {"snapshot": "snds@x", "tables": ["ER_PRS_F"]}}
    with platform.db.unit_of_work() as s:
        org = identity.create_organisation(s, actor=operator_actor(), name="Labo", sector="private")
        user = identity.create_user(s, actor=operator_actor(), email="r@labo.example", name="R", organisation=org,
                                    roles={"researcher"}, end_of_rights=date.today() + timedelta(days=30))
        actor = identity.actor_of(user)
        for i in range(count):
            app = gov.create_application(s, actor=actor, user=user, title=f"Projet {i}", procedure="MR-004", form=form)
            app.status, app.submitted_at = "submitted", app.created_at
    with platform.db.unit_of_work() as s:  # SQLite needs the rows analysed like PostgreSQL's autovacuum does
        s.execute(text("ANALYZE"))


def raw_register(platform: Platform) -> str:
    """The same columns as the register reads (the JSON ones as raw text), dumped as they come."""
    query = text("SELECT a.id, a.title, o.name, o.sector, a.procedure, a.form, a.call_id, a.submitted_at, a.status, "
                 "a.decision, a.decided_at, a.justification, a.ethics_opinion, a.cnil_decision "
                 "FROM application a JOIN organisation o ON o.id = a.organisation_id "
                 "WHERE a.submitted_at IS NOT NULL ORDER BY a.submitted_at DESC, a.id DESC")
    out = io.StringIO()
    with platform.db.engine.connect() as con:
        csv.writer(out).writerows(con.execute(query))
    return out.getvalue()


def ours(platform: Platform) -> str:
    with platform.db.unit_of_work() as s:
        return register.to_csv(register.entries(s))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--applications", type=int, default=5000)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--database-url")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        platform = Platform(Settings(home=Path(tmp), database_url=args.database_url, env="test"))
        platform.init(operator_actor())
        client = TestClient(create_app(platform), base_url="https://bench")
        secret = account(platform)
        with platform.db.unit_of_work() as s:
            hashed = identity.get_user(s, "a@hdh.example").password_hash
        hasher = PasswordHasher()
        bare = timed(lambda: hasher.verify(hashed, PASSWORD), 10)
        login_times = []
        for _ in range(3):  # a TOTP code works once: one sign-in per 30 s step, as for a person
            code = pyotp.TOTP(secret).now()
            began = time.perf_counter()
            response = client.post("/api/auth/login", json={"email": "a@hdh.example", "password": PASSWORD, "code": code})
            login_times.append(time.perf_counter() - began)
            assert response.status_code == 200, response.text
            with platform.db.unit_of_work() as s:  # let the next step's code through
                identity.get_user(s, "a@hdh.example").mfa_last_step = 0
                identity.accept_terms(s, user=identity.get_user(s, "a@hdh.example"),
                                                  version=platform.settings.terms_version)
        login = min(login_times)
        print(f"sign-in: {login * 1000:.1f} ms, bare Argon2id verify {bare * 1000:.1f} ms "
              f"-> login / verify = {login / bare:.2f}")

        guarded = timed(lambda: client.get("/api/auth/me"), args.requests)
        public = timed(lambda: client.get("/api/calls"), args.requests)
        print(f"guard: GET /api/auth/me {guarded * 1000:.2f} ms, GET /api/calls {public * 1000:.2f} ms "
              f"-> public / guarded throughput = {public / guarded:.2f}")

        seed(platform, args.applications)
        with platform.db.unit_of_work() as s:
            assert s.query(Application).count() == args.applications
        raw = timed(lambda: raw_register(platform), 3)
        our = timed(lambda: ours(platform), 3)
        print(f"register of {args.applications} applications: raw SQL + csv {raw * 1000:.0f} ms, "
              f"register.entries + CSV {our * 1000:.0f} ms -> throughput ratio {raw / our:.2f}")
        platform.close()


if __name__ == "__main__":
    main()

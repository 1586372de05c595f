"""The people bench/load.py sends at a running server (locust user classes, run in locust's own
process: gevent patches it). The world (sessions, ids) comes from the file BENCH_WORLD names.

- Visitor: the public catalogue, register and calls, pages and API;
- Applicant: a signed-in researcher drafting applications (create, amend, read, list);
- Researcher: aggregate SQL in a provisioned workspace (the sandboxed engine, the audit event);
- StormClient: wrong-password sign-ins, each from its own address (X-Forwarded-For, which uvicorn
  trusts from 127.0.0.1 as from a TLS proxy) and for its own account: every try is past the
  back-off and costs one Argon2 check, the worst case for the server's capacity;
- Prober: /health and the public pages, what must keep answering during a storm.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import secrets

from locust import HttpUser, between, constant, task

WORLD = json.loads(open(os.environ["BENCH_WORLD"]).read())  # noqa: SIM115 - read once at import
_applicants = itertools.cycle(WORLD["applicants"])
_researchers = itertools.cycle(WORLD["researchers"])
QUERIES = ("SELECT BEN_SEX_COD, count(*) AS n, sum(PRS_PAI_MNT) AS paid FROM ER_PRS_F GROUP BY 1",
           "SELECT EXTRACT(month FROM EXE_SOI_DTD) AS month, count(*) AS n FROM ER_PRS_F GROUP BY 1 ORDER BY 1")


class _Signed(HttpUser):
    abstract = True

    def sign(self, session: dict) -> None:
        # the session cookie is Secure (never sent over plain http by a browser): set as a header here
        self.client.headers.update({"Cookie": f"bastide_session={session['secret']}", "X-CSRF-Token": session["csrf"]})


class Visitor(HttpUser):
    weight = 40
    wait_time = between(1, 2)

    @task(3)
    def home(self):
        self.client.get("/")

    @task(2)
    def catalogue(self):
        self.client.get("/api/catalogue/datasets")
        self.client.get(f"/api/catalogue/datasets/snds/snapshots/{WORLD['release']}", name="/api/catalogue/…/{release}")

    @task
    def register(self):
        self.client.get("/register")
        self.client.get("/api/register")

    @task
    def calls(self):
        self.client.get("/calls")

    @task
    def health(self):
        self.client.get("/health")


class Applicant(_Signed):
    weight = 8
    wait_time = between(1, 2)

    def on_start(self):
        self.sign(next(_applicants))
        self.drafts: list[int] = []

    @task(2)
    def draft(self):
        answer = self.client.post("/api/applications", json={
            "title": f"Étude {secrets.token_hex(3)}", "procedure": "standard",
            "form": {"purpose": "e", "functions": "load benchmark"}})
        if answer.ok:
            self.drafts.append(answer.json()["id"])

    @task(3)
    def amend(self):
        if self.drafts:
            self.client.patch(f"/api/applications/{random.choice(self.drafts)}", name="/api/applications/{id}",
                              json={"changes": {"use": f"version {secrets.token_hex(2)}"}})

    @task(3)
    def read(self):
        self.client.get("/api/applications")
        if self.drafts:
            self.client.get(f"/api/applications/{random.choice(self.drafts)}", name="/api/applications/{id}")


class Researcher(_Signed):
    weight = 2
    wait_time = between(1, 2)

    def on_start(self):
        self.sign(next(_researchers))

    @task
    def query(self):
        self.client.post(f"/api/workspaces/{WORLD['workspace']}/queries", name="/api/workspaces/{id}/queries",
                         json={"sql": random.choice(QUERIES)})


class StormClient(HttpUser):
    wait_time = constant(0)  # the next try as soon as the last is answered

    @task
    def wrong_password(self):
        address = f"10.{random.randrange(256)}.{random.randrange(256)}.{random.randrange(1, 255)}"
        with self.client.post("/api/auth/login", name="/api/auth/login (wrong password)",
                              headers={"X-Forwarded-For": address},
                              json={"email": f"{secrets.token_hex(4)}@storm.example", "password": "wrong",
                                    "code": "000000"}, catch_response=True) as answer:
            if answer.status_code in (401, 429):  # what a wrong password must get
                answer.success()


class Prober(HttpUser):
    fixed_count = 5
    wait_time = constant(0.2)

    @task
    def probe(self):
        self.client.get("/health")
        self.client.get("/")
        self.client.get("/api/catalogue/datasets")

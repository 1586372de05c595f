"""Writes safe under concurrency, on SQLite and PostgreSQL (issue 16, item 2): wrong-password
sign-ins against one account from several processes, each with several threads, the way a storm
comes. Before, the failure counters were read, added to and written back (concurrent failures
overwrote each other: 63 password checks before a 5-try limit) and two first failures of one key
both inserted it (a 500); every failure must now be counted once, in the throttle, on the account
and in the audit chain, with no error and the chain intact."""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, insert, select

from bastide.server import create_app
from bastide.gate.signin import password_pool
from bastide.audit.models import AuditEvent
from bastide.audit.service import verify_chain
from bastide.config import Settings
from bastide.identity import service as identity
from bastide.identity import throttle
from bastide.identity.models import LoginThrottle
from bastide.platform import Platform, operator_actor
from tests.portal import client_for

pytestmark = pytest.mark.slow
EMAIL, PROCESSES, THREADS, TRIES = "target@inserm.example", 3, 4, 5


def _wrong_sign_ins(home: str, url: str) -> list[str]:
    """One process: THREADS threads, TRIES wrong sign-ins each; the answers' codes."""
    platform = Platform(Settings(home=Path(home), database_url=url, auth_max_failures=1000,
                                 auth_source_failures=1000))

    def tries(thread: int) -> list[str]:
        codes = []
        for _ in range(TRIES):
            with platform.db.unit_of_work() as s:
                result = identity.authenticate(s, keys=platform.keys, email=EMAIL, password="wrong", code="000000",
                                               policy=throttle.policy_of(platform.settings), source=f"10.0.0.{thread}")
                codes.append(result.error.code if result.error else "ok")
        return codes

    try:
        with ThreadPoolExecutor(THREADS) as pool:
            return [code for codes in pool.map(tries, range(THREADS)) for code in codes]
    finally:
        platform.close()


def test_concurrent_failed_sign_ins_are_each_counted_once(tmp_path, database_url):
    platform = Platform(Settings(home=tmp_path, database_url=database_url))
    platform.init(operator_actor())
    with platform.db.unit_of_work() as s:
        org = identity.create_organisation(s, actor=operator_actor(), name="INSERM", sector="public")
        identity.create_user(s, actor=operator_actor(), email=EMAIL, name="Target", organisation=org,
                             roles={"researcher"}, end_of_rights=date.today() + timedelta(days=30), password="the right password")
    url = platform.settings.database_url
    with ProcessPoolExecutor(PROCESSES, mp_context=multiprocessing.get_context("spawn")) as pool:
        answers = [code for codes in pool.map(_wrong_sign_ins, [str(tmp_path)] * PROCESSES, [url] * PROCESSES)
                   for code in codes]
    tries = PROCESSES * THREADS * TRIES
    assert len(answers) == tries and set(answers) == {"authentication_failed"}  # no error, no lost answer
    with platform.db.unit_of_work() as s:
        counted = s.get(LoginThrottle, f"account:{EMAIL}").failures
        on_account = identity.get_user(s, EMAIL).failed_logins
        audited = s.execute(select(func.count()).select_from(AuditEvent)
                            .where(AuditEvent.action == "user:login_failed")).scalar_one()
        chain = verify_chain(s)
    platform.close()
    assert counted == on_account == audited == tries
    assert chain.ok, chain.reason


def test_the_back_off_stays_at_its_longest_however_many_failures(tmp_path, database_url):
    """2^(failures - free) seconds overflowed a timedelta past a few dozen failures (a 500): the
    wait is the policy's longest long before that."""
    platform = Platform(Settings(home=tmp_path, database_url=database_url))
    platform.init(operator_actor())
    policy, now = throttle.Policy(5, 20, timedelta(hours=1)), datetime(2026, 12, 1, tzinfo=UTC)
    with platform.db.unit_of_work() as s:  # 500 failures so far, as a long storm leaves them
        s.execute(insert(LoginThrottle).values(key="account:x@y.example", failures=500, updated_at=now))
    with platform.db.unit_of_work() as s:
        throttle.failed(s, {"account": "account:x@y.example"}, policy, now)
    with platform.db.unit_of_work() as s:
        row = s.get(LoginThrottle, "account:x@y.example")
        assert row.failures == 501 and row.blocked_until == now + timedelta(hours=1)
    platform.close()


def test_sign_ins_queue_for_their_own_threads_and_the_others_keep_answering(tmp_path):
    """Issue 16, item 3: Argon2 ran in the pool serving every request, so 200 wrong-password clients
    held all its threads and /health waited 25 s. With every password thread taken, a sign-in waits
    for one, and /health and a public page answer meanwhile; the sign-in is checked once freed."""
    platform = Platform(Settings(home=tmp_path, sign_in_threads=1))
    platform.init(operator_actor())
    app = create_app(platform)
    with client_for(app) as client:
        pool = password_pool(app)
        holder = object()
        client.portal.call(pool.acquire_on_behalf_of, holder)  # the one password thread, busy
        with ThreadPoolExecutor(1) as waiting:
            sign_in = waiting.submit(client.post, "/api/auth/login",
                                     json={"email": "nobody@example.org", "password": "wrong", "code": "000000"})
            assert client.get("/health").status_code == 200 and client.get("/calls").status_code == 200
            assert not sign_in.done()  # still queued for a password thread
            client.portal.call(pool.release_on_behalf_of, holder)
            assert sign_in.result(timeout=60).status_code == 401
    platform.close()

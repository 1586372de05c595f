"""Accounts under attack (issue 13, "Why" 7, 8 and 9; IAM-02, IAM-04, IAM-07).

An administrator must not become a researcher through a reset; sign-in must not tell account
states apart before the password is verified, nor let anyone lock anyone out for good; no
request body is read past its cap, authentication included; every answer carries the
security headers."""

from __future__ import annotations

import re
import socket
import time
from email import message_from_bytes
from pathlib import Path

import pyotp
import pytest

from bastide.server import create_app
from bastide.audit import service as audit
from tests.portal import PASSWORD, activate, client_for, operator_creates, person, previous_step_code, sign_in
from tests.services import Relay

OTHER = "another password, long enough"


@pytest.fixture
def accounts(db_platform):
    """Two administrators and a researcher, alice, who holds an API token; mail to the outbox."""
    platform = db_platform
    app = create_app(platform)
    admins = [person(app, platform, email=f"admin{i}@hdh.example", org="HDH", sector="public",
                     roles={"administrator"}) for i in (1, 2)]
    alice = client_for(app)
    totp = activate(alice, operator_creates(platform, email="alice@labo.example", org="Labo", sector="private",
                                            roles={"researcher"}))
    sign_in(alice, "alice@labo.example", totp)
    token = alice.post("/api/tokens", json={"name": "script", "scopes": ["workspace:enter"], "days": 30}).json()["token"]
    return platform, app, admins, alice, totp, token


def _link_in_last_mail(platform) -> tuple[str, str]:
    """The newest message in the outbox: its recipient and the link it carries."""
    newest = sorted((platform.settings.home / "outbox").glob("*.eml"))[-1]
    mail = message_from_bytes(newest.read_bytes())
    found = re.search(r"/activate/(\S+)", mail.get_payload(decode=True).decode())
    return mail["To"], found.group(1) if found else ""


def test_an_mfa_reset_hands_the_administrator_nothing_and_ends_the_persons_sessions_and_tokens(accounts):
    platform, app, (admin, _second), alice, _totp, token = accounts
    done = admin.post("/api/users/alice@labo.example/reset", json={"kind": "mfa"})
    assert done.status_code == 200 and "activate" not in done.text  # no link in the administrator's answer
    to, secret = _link_in_last_mail(platform)
    assert to == "alice@labo.example" and secret
    assert alice.get("/api/auth/me").status_code == 401  # her session ended
    bearer = client_for(app).get("/api/workspaces", headers={"Authorization": f"Bearer {token}"})
    assert bearer.status_code == 401  # her token too

    # the administrator who intercepted the link, without her password, gets nowhere
    thief = client_for(app)
    stolen = thief.post("/api/auth/activate", json={"token": secret, "current_password": "a guess of hers!"})
    assert stolen.status_code == 401 and stolen.json()["error"]["code"] == "link_secret_wrong"
    assert thief.post("/api/auth/activate", json={"token": secret, "password": "the admin's own choice"}).status_code == 401
    # she, who knows her password, enrols a new authenticator and signs in
    enrolled = alice.post("/api/auth/activate", json={"token": secret, "current_password": PASSWORD})
    assert enrolled.status_code == 200
    new = re.search(r"secret=([A-Z2-7]+)", enrolled.json()["otpauth_uri"]).group(1)
    code = previous_step_code(new)
    confirmed = alice.post("/api/auth/activate/confirm", json={"token": secret, "code": code})
    assert confirmed.status_code == 204, confirmed.text
    sign_in(alice, "alice@labo.example", new)
    with platform.db.unit_of_work() as s:
        events = [e.action for e in audit.list_events(s, target="user:alice@labo.example", limit=20)]
    assert "user:reset" in events and "user:login_failed" in events  # the wrong password given with the link


def test_a_password_reset_needs_the_persons_authenticator(accounts):
    platform, app, (admin, _second), alice, totp, _token = accounts
    admin.post("/api/users/alice@labo.example/reset", json={"kind": "password"})
    _to, secret = _link_in_last_mail(platform)
    thief = client_for(app)
    refused = thief.post("/api/auth/reset-password", json={"token": secret, "code": "000000", "password": OTHER})
    assert refused.status_code == 401
    unused = pyotp.TOTP(totp).at(time.time() + 30)  # the current step's code was spent signing in (no replay)
    done = alice.post("/api/auth/reset-password", json={"token": secret, "code": unused, "password": OTHER})
    assert done.status_code == 204
    assert client_for(app).post("/api/auth/login", json={"email": "alice@labo.example", "password": PASSWORD,
                                                         "code": pyotp.TOTP(totp).now()}).status_code == 401


def test_a_full_reset_needs_a_second_administrator_and_its_link_goes_to_the_person_only(accounts):
    platform, _app, (first, second), _alice, _totp, _token = accounts
    asked = first.post("/api/users/alice@labo.example/reset", json={"kind": "full"})
    assert asked.json()["pending"] is True
    assert _link_in_last_mail(platform) == ("alice@labo.example", "")  # she is told; no link yet
    alone = first.post("/api/users/alice@labo.example/reset/approve")
    assert alone.status_code == 403  # the one who asked cannot approve
    approved = second.post("/api/users/alice@labo.example/reset/approve")
    assert approved.status_code == 200 and "activate" not in approved.text
    to, secret = _link_in_last_mail(platform)
    assert to == "alice@labo.example" and secret
    assert second.post("/api/users/alice@labo.example/reset/approve").status_code == 409  # spent


def test_sign_in_tells_account_states_only_once_the_password_is_right(accounts):
    platform, app, (admin, _second), _alice, _totp, _token = accounts
    admin.post("/api/users/alice@labo.example/disable")
    client = client_for(app)
    answers = [client.post("/api/auth/login", json={"email": email, "password": "not the password", "code": "1"})
               for email in ("nobody@nowhere.example", "alice@labo.example", "admin2@hdh.example")]
    assert {(a.status_code, a.json()["error"]["code"], a.json()["error"]["message"]) for a in answers} == {
        (401, "authentication_failed", "e-mail, password or code is wrong")}
    right = client.post("/api/auth/login", json={"email": "alice@labo.example", "password": PASSWORD, "code": "1"})
    assert right.json()["error"]["code"] == "account_disabled"  # told to who knows the password


def test_failures_from_one_source_slow_that_source_and_nobody_is_locked_out_for_good(accounts):
    platform, app, _admins, _alice, totp, _token = accounts
    attacker = client_for(app)
    for i in range(platform.settings.auth_source_failures):
        attacker.post("/api/auth/login", json={"email": f"guess{i}@labo.example", "password": "x" * 12, "code": "1"})
    waiting = attacker.post("/api/auth/login", json={"email": "alice@labo.example", "password": PASSWORD,
                                                     "code": pyotp.TOTP(totp).now()})
    assert waiting.status_code == 429 and waiting.json()["error"]["code"] == "too_many_attempts"
    # the TestClient's source is one address; another source is not held back by it
    with platform.db.unit_of_work() as s:
        from bastide.identity.models import LoginThrottle

        assert s.get(LoginThrottle, "source:testclient").failures == platform.settings.auth_source_failures
        assert s.get(LoginThrottle, "account:alice@labo.example") is None  # her account owes nothing


def test_security_headers_on_pages_and_api_and_hsts_in_production(accounts):
    platform, app, _admins, _alice, _totp, _token = accounts
    for path in ("/", "/login", "/api/catalogue/datasets", "/health", "/nowhere"):
        answer = client_for(app).get(path)
        policy = answer.headers["Content-Security-Policy"]
        assert "frame-ancestors 'none'" in policy and "default-src 'self'" in policy, path
        assert answer.headers["X-Content-Type-Options"] == "nosniff" and answer.headers["X-Frame-Options"] == "DENY"
        assert "Strict-Transport-Security" not in answer.headers  # not on a laptop's http
    platform.settings.env = "prod"
    assert "max-age" in client_for(create_app(platform)).get("/health").headers["Strict-Transport-Security"]


def test_a_huge_body_is_refused_before_anything_reads_it(accounts):
    platform, app, _admins, _alice, _totp, _token = accounts
    declared = client_for(app).post("/api/auth/login", content=b"{}", headers={"Content-Length": str(300 * 2**20),
                                                                                "Content-Type": "application/json"})
    assert declared.status_code == 413 and declared.json()["error"]["code"] == "request_too_large"

    def streamed():  # no length declared: chunked, 5 MB in 64 KiB pieces
        for _ in range(80):
            yield b" " * 65536

    chunked = client_for(app).post("/api/workspaces/1/queries", content=streamed(),
                                   headers={"Content-Type": "application/json"})
    assert chunked.status_code == 413  # before the 401 the route would give
    with platform.db.unit_of_work() as s:
        assert not [e for e in audit.list_events(s, limit=5) if e.action == "user:login_failed"]


def test_reset_mail_goes_through_a_real_smtp_relay(accounts):
    with Relay() as relay:
        platform, _app, (admin, _second), _alice, _totp, _token = accounts
        platform.settings.mail_url = relay.url
        assert admin.post("/api/users/alice@labo.example/reset", json={"kind": "mfa"}).json()["sent_to"] == "127.0.0.1"
    received, port = relay.received, relay.port
    assert len(received) == 1 and received[0]["To"] == "alice@labo.example"
    assert "/activate/" in received[0].get_payload(decode=True).decode()
    with socket.socket() as probe:  # the relay is gone: a reset then fails whole, nothing done untold
        assert probe.connect_ex(("127.0.0.1", port)) != 0
    failed = admin.post("/api/users/alice@labo.example/reset", json={"kind": "password"})
    assert failed.status_code == 503 and failed.json()["error"]["code"] == "mail_unavailable"
    with platform.db.unit_of_work() as s:
        from bastide.identity import service as identity

        assert identity.get_user(s, "alice@labo.example").password_hash  # the password was not reset
    assert Path(platform.settings.home).exists()

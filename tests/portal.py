"""People and HTTP clients for the governance tests: accounts activated as a person would
(activation link, password, a code from the authenticator app), signed in, terms accepted."""

from __future__ import annotations

import time
from datetime import date, timedelta
from urllib.parse import parse_qs, urlparse

import pyotp
from fastapi.testclient import TestClient

from bastide.identity import credentials
from bastide.identity import service as identity
from bastide.identity.roles import Role
from bastide.platform import operator_actor

PASSWORD = "correct horse battery staple"
HTTPS = "https://testserver"  # the session cookie is Secure: a plain-http client would never send it back


def client_for(app) -> TestClient:
    return TestClient(app, base_url=HTTPS, follow_redirects=False)


def operator_creates(platform, *, email: str, org: str, sector: str, roles: set[str]) -> str:
    """What `bastide users create` does: the account and its activation link's secret."""
    with platform.db.unit_of_work() as s:
        organisation = identity.find_organisation(s, org) or identity.create_organisation(
            s, actor=operator_actor(), name=org, sector=sector)
        user = identity.create_user(s, actor=operator_actor(), email=email, name=email.split("@")[0].title(),
                                    organisation=organisation, roles=roles,
                                    end_of_rights=date.today() + timedelta(days=365))
        return credentials.issue_activation(s, actor=operator_actor(), user=user)


def one_account_per_role(session, platform, *, until: date) -> dict:
    """An account for each role at one lab ("<role>@example.org"), MFA enrolled and terms accepted:
    for tests about what each role may do, signed in without the sign-in form."""
    lab = identity.create_organisation(session, actor=operator_actor(), name="Labo", sector="private")
    users = {}
    for role in Role:
        user = identity.create_user(session, actor=operator_actor(), email=f"{role.value}@example.org",
                                    name=role.value, organisation=lab, roles={role.value}, end_of_rights=until)
        user.mfa_confirmed = True
        identity.accept_terms(session, user=user, version=platform.settings.terms_version)
        users[role.value] = user
    return users


def secret_of(activation_url_or_secret: str) -> str:
    return activation_url_or_secret.rstrip("/").rsplit("/", 1)[-1]


def previous_step_code(totp_secret: str, margin: float = 4) -> str:
    """The code of the previous 30 s step (the current one is kept for signing in: no replay), not
    within `margin` seconds of a step's end, when the server, a moment later, would be two steps on."""
    if 30 - time.time() % 30 < margin:
        time.sleep(30.1 - time.time() % 30)
    return pyotp.TOTP(totp_secret).at(time.time() - 30)


def activate(client: TestClient, link: str, password: str = PASSWORD) -> str:
    """Choose a password, read the TOTP secret from the otpauth URI, confirm with a code; return the secret."""
    token = secret_of(link)
    enrolment = client.post("/api/auth/activate", json={"token": token, "password": password})
    assert enrolment.status_code == 200, enrolment.text
    body = enrolment.json()
    assert body["qr_svg"].startswith("<svg") and len(body["recovery_codes"]) == 10
    totp_secret = parse_qs(urlparse(body["otpauth_uri"]).query)["secret"][0]
    code = previous_step_code(totp_secret)  # the login will use the current one
    assert client.post("/api/auth/activate/confirm", json={"token": token, "code": code}).status_code == 204
    return totp_secret


def sign_in(client: TestClient, email: str, totp_secret: str, password: str = PASSWORD, *, terms: bool = True) -> dict:
    response = client.post("/api/auth/login", json={"email": email, "password": password,
                                                    "code": pyotp.TOTP(totp_secret).now()})
    assert response.status_code == 200, response.text
    me = response.json()
    client.headers["X-CSRF-Token"] = me["csrf_token"]
    if terms and me["terms_required"]:
        assert client.post("/api/auth/terms", json={"version": me["terms_required"]}).status_code == 200
    return me


def person(app, platform, *, email: str, org: str, sector: str, roles: set[str]) -> TestClient:
    client = client_for(app)
    secret = activate(client, operator_creates(platform, email=email, org=org, sector=sector, roles=roles))
    sign_in(client, email, secret)
    return client


def session_client(app, platform, user_id: int) -> TestClient:
    """A client signed in as an existing account, without going through the sign-in form
    (for tests about what happens after it): MFA and terms taken as done."""
    client = client_for(app)
    with platform.db.unit_of_work() as s:
        user = s.get(identity.User, user_id)
        user.mfa_confirmed = True
        if user.terms_version != platform.settings.terms_version:
            identity.accept_terms(s, user=user, version=platform.settings.terms_version)
        secret = credentials.open_session(s, user=user)
    client.cookies.set("bastide_session", secret, domain="testserver.local")
    client.headers["X-CSRF-Token"] = credentials.csrf_token(secret)
    return client

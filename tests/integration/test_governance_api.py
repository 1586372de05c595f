"""The governance API as people use it: accounts, an application through review to a signed
permit, the public register, tokens, CSRF (IAM-01…07, GOV-01…13, GOV-25, TRA-01…05)."""

from __future__ import annotations

import pyotp
import pytest

from bastide.server import create_app
from bastide.governance.permits import verify_file
from tests.conftest import _copied_world
from tests.portal import PASSWORD, activate, client_for, operator_creates, person, sign_in
from tests.unit.test_application_form import FULL


@pytest.fixture(params=["sqlite", "postgresql"])
def portal(request, tmp_path, tiny_delivery):
    """A published snapshot (a copy of one made per test process) and an administrator."""
    platform, _ = _copied_world(request, f"{request.param}+local", tiny_delivery, tmp_path, people=False)
    app = create_app(platform)
    admin = person(app, platform, email="ada@hdh.example", org="HDH", sector="public", roles={"administrator"})
    yield app, platform, admin
    platform.close()


def _new_person(app, admin, email, org, role, sector="private"):
    """An administrator registers an organisation member; the person activates the link."""
    if org not in {o["name"] for o in admin.get("/api/organisations").json()}:
        assert admin.post("/api/organisations", json={"name": org, "sector": sector}).status_code == 201
    created = admin.post("/api/users", json={"email": email, "name": email, "organisation": org, "roles": [role],
                                             "end_of_rights": "2099-12-31"})
    assert created.status_code == 201, created.text
    client = client_for(app)
    secret = activate(client, created.json()["activation_url"])
    return client, secret


def test_done_when_an_application_becomes_a_signed_permit(portal):
    app, platform, admin = portal
    alice, alice_totp = _new_person(app, admin, "alice@labo.example", "Labo privé", "researcher")
    me = sign_in(alice, "alice@labo.example", alice_totp, terms=False)
    assert me["terms_required"] == platform.settings.terms_version
    refused = alice.get("/api/applications")  # GOV-25: nothing before the terms of use are accepted
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "terms_not_accepted"
    assert alice.post("/api/auth/terms", json={"version": me["terms_required"]}).json()["terms_version"]

    created = alice.post("/api/applications", json={"title": "Statines et diabète", "procedure": "standard"})
    app_id = created.json()["id"]
    incomplete = alice.post(f"/api/applications/{app_id}/actions/submit", json={})
    assert incomplete.status_code == 422 and "persons" in incomplete.json()["error"]["details"]["missing"]
    assert alice.patch(f"/api/applications/{app_id}", json={"changes": FULL}).status_code == 200
    submitted = alice.post(f"/api/applications/{app_id}/actions/submit", json={})
    assert submitted.json()["status"] == "submitted" and submitted.json()["decision_due"]

    entry = next(e for e in client_for(app).get("/api/register").json() if e["reference"] == created.json()["reference"])
    assert entry["status"] == "submitted" and entry["organisation"] == "Labo privé"  # TRA-01, no login needed
    assert "alice@" not in client_for(app).get("/api/register.csv").text  # nothing personal in it

    ines, _ = _new_person(app, admin, "ines@hdh.example", "HDH", "instructor")
    sign_in(ines, "ines@hdh.example", _)
    louis, louis_totp = _new_person(app, admin, "louis@hdh.example", "HDH", "legal_recorder")
    sign_in(louis, "louis@hdh.example", louis_totp)
    assert [a["id"] for a in ines.get("/api/queue").json()] == [app_id]
    for action in ("screen", "accept"):
        assert ines.post(f"/api/applications/{app_id}/actions/{action}", json={}).status_code == 200
    wrong = ines.post(f"/api/applications/{app_id}/actions/submit", json={})
    assert wrong.status_code == 409 and "grant" in wrong.json()["error"]["details"]["allowed"]
    for criterion in (*"abcdefgh", "risk_a", "risk_b"):  # Art. 68(1) criteria, Art. 68(2) risks
        ines.post(f"/api/applications/{app_id}/assessment", json={"criterion": criterion, "met": True})
    for kind in ("ethics", "cnil"):
        recorded = louis.post(f"/api/applications/{app_id}/opinions",
                              json={"kind": kind, "reference": f"{kind}-2026-17", "date": "2026-11-20",
                                    "outcome": "favourable"})
        assert recorded.status_code == 200, recorded.text
    granted = ines.post(f"/api/applications/{app_id}/actions/grant", json={})
    assert granted.json()["decision"] == "granted"

    permit = alice.get("/api/permits").json()[0]
    document = verify_file(alice.get(f"/api/permits/{permit['id']}/file").text, public_pem=platform.signer.public_pem())
    assert document["data"]["snapshot"] == "snds@2024-12" and document["persons"] == FULL["persons"]
    entry = next(e for e in client_for(app).get("/api/register").json() if e["reference"] == created.json()["reference"])
    assert entry["permit"] == permit["reference"] and entry["valid_until"]  # TRA-02
    actions = [e["action"] for e in alice.get(f"/api/applications/{app_id}/history").json()]  # AUD-11
    assert actions[0] == "application:create" and actions[-1] == "permit:issue" and "application:grant" in actions


def test_csrf_token_is_required_on_writes_with_the_session_cookie(portal):
    app, _platform, admin = portal
    token = admin.headers.pop("X-CSRF-Token")
    missing = admin.post("/api/organisations", json={"name": "X", "sector": "public"})
    assert missing.status_code == 403 and missing.json()["error"]["code"] == "csrf_failed"
    admin.headers["X-CSRF-Token"] = token[:-1] + ("0" if token[-1] != "0" else "1")
    assert admin.post("/api/organisations", json={"name": "X", "sector": "public"}).status_code == 403
    admin.headers["X-CSRF-Token"] = token
    assert admin.post("/api/organisations", json={"name": "X", "sector": "public"}).status_code == 201


def test_api_tokens_are_scoped_expiring_and_revocable(portal):
    app, _platform, admin = portal
    over = admin.post("/api/tokens", json={"name": "script", "scopes": ["application:decide"], "days": 30})
    assert over.status_code == 422  # not one of the administrator's permissions
    too_long = admin.post("/api/tokens", json={"name": "script", "scopes": ["user:manage"], "days": 365})
    assert too_long.status_code == 422
    created = admin.post("/api/tokens", json={"name": "provisioning", "scopes": ["user:manage"], "days": 7})
    assert created.status_code == 201
    secret = created.json()["token"]
    assert admin.get("/api/tokens").json()[0]["prefix"] == secret[:12] and "token" not in admin.get("/api/tokens").json()[0]
    script = client_for(app)
    script.headers["Authorization"] = f"Bearer {secret}"
    assert script.get("/api/users").status_code == 200  # no CSRF for a bearer token: it is not ambient
    assert script.post("/api/tokens", json={"name": "more", "scopes": ["user:manage"]}).status_code == 403
    assert admin.delete(f"/api/tokens/{created.json()['id']}").json()["revoked_at"]
    revoked = script.get("/api/users")
    assert revoked.status_code == 401 and revoked.json()["error"]["code"] == "not_authenticated"


def test_login_failures_back_off_and_codes_are_single_use(portal):
    """IAM-02, IAM-04: a wrong code or a replayed one is refused; past N failures each try waits."""
    app, platform, _admin = portal
    client = client_for(app)
    secret = activate(client, operator_creates(platform, email="bob@labo.example", org="Labo", sector="private",
                                               roles={"researcher"}))
    code = pyotp.TOTP(secret).now()
    assert client.post("/api/auth/login", json={"email": "bob@labo.example", "password": PASSWORD,
                                                "code": code}).status_code == 200
    replay = client.post("/api/auth/login", json={"email": "bob@labo.example", "password": PASSWORD, "code": code})
    assert replay.status_code == 401 and replay.json()["error"]["code"] == "authentication_failed"
    for _ in range(platform.settings.auth_max_failures):
        client.post("/api/auth/login", json={"email": "bob@labo.example", "password": "wrong password!", "code": code})
    waiting = client.post("/api/auth/login", json={"email": "bob@labo.example", "password": PASSWORD,
                                                   "code": pyotp.TOTP(secret).now()})
    assert waiting.status_code == 429 and waiting.json()["error"]["code"] == "too_many_attempts"
    assert int(waiting.headers["Retry-After"]) >= 1


def test_a_disabled_account_loses_its_session_at_once(portal):
    app, _platform, admin = portal
    alice, totp = _new_person(app, admin, "alice@labo.example", "Labo privé", "researcher")
    sign_in(alice, "alice@labo.example", totp)
    assert alice.get("/api/auth/me").status_code == 200
    assert admin.post("/api/users/alice@labo.example/disable").json()["state"] == "disabled"
    assert alice.get("/api/auth/me").json()["error"]["code"] == "account_disabled"


def test_activation_links_work_once(portal):
    app, platform, _admin = portal
    link = operator_creates(platform, email="carl@labo.example", org="Labo", sector="private", roles={"researcher"})
    activate(client_for(app), link)
    again = client_for(app).post("/api/auth/activate", json={"token": link, "password": PASSWORD})
    assert again.status_code == 401 and again.json()["error"]["code"] == "activation_invalid"

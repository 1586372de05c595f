"""Permits after the grant: amendment, the single extension, revocation, scheduled expiry
(GOV-11, GOV-15); the opt-out registry (GOV-16); calls for projects with scoring and selection."""

from __future__ import annotations

import time
from datetime import date, timedelta

import pytest

from bastide.server import create_app
from bastide.audit import service as audit
from bastide.db import utcnow
from bastide.errors import Conflict, InvalidInput, TransitionNotAllowed
from bastide.governance import calls, optout, permits
from bastide.governance import service as gov
from bastide.identity import service as identity
from bastide.identity.policy import Forbidden
from bastide.platform import operator_actor
from tests.integration.test_applications import _do, _new
from tests.portal import client_for, session_client
from tests.services import working
from tests.unit.test_application_form import FULL


def _granted(platform, p, form=FULL) -> int:
    app_id = _new(platform, p["alice"], form=form)
    for who, action in (("alice", "submit"), ("ines", "screen"), ("ines", "accept")):
        _do(platform, app_id, gov.act, actor=p[who], action=action)
    for criterion in (*"abcdefgh", "risk_a", "risk_b"):  # Art. 68(1) criteria, Art. 68(2) risks
        _do(platform, app_id, gov.assess, actor=p["ines"], criterion=criterion, met=True, note="")
    for kind in ("ethics", "cnil"):
        _do(platform, app_id, gov.record_opinion, actor=p["louis"], kind=kind, reference=f"{kind}-1",
            on=date.today(), outcome="favourable")
    return _do(platform, app_id, permits.grant, actor=p["ines"], signer=platform.signer).id


def _permit(platform, permit_id, fn, **kw):
    with platform.db.unit_of_work() as s:
        result = fn(s, permit=permits.get_permit(s, permit_id), **kw)
        return result.id, result.status, result.version


def _verified(platform, permit_id) -> dict:
    with platform.db.unit_of_work() as s:
        text = permits.export(permits.get_permit(s, permit_id), platform.signer.public_pem())
    return permits.verify_file(text, public_pem=platform.signer.public_pem())


def test_amendment_is_a_new_signed_version_and_archives_the_old(gov_world):
    platform, p = gov_world
    first = _granted(platform, p)
    with pytest.raises(InvalidInput, match="why"):
        _permit(platform, first, permits.amend, actor=p["ines"], signer=platform.signer, changes={}, reason=" ")
    with pytest.raises(InvalidInput, match="engine is one of"):
        _permit(platform, first, permits.amend, actor=p["ines"], signer=platform.signer, changes={"engine": "hadoop"},
                reason="bigger")
    new_id, status, version = _permit(platform, first, permits.amend, actor=p["ines"], signer=platform.signer,
                                      changes={"persons": ["alice@inserm.example", "bob@inserm.example"],
                                               "engine": "spark"}, reason="a new statistician joins")
    assert (status, version) == ("active", 2)
    document = _verified(platform, new_id)
    assert document["persons"] == ["alice@inserm.example", "bob@inserm.example"]
    assert document["supersedes"] == f"PRM-{first:06d}" and document["version"] == 2
    assert document["engine"] == "spark"  # the processing environment changed with it (Art. 67(2)(i))
    with platform.db.unit_of_work() as s:
        old = permits.get_permit(s, first)
        assert (old.status, old.status_reason) == ("superseded", "a new statistician joins")
        archived = _verified(platform, first)
        assert archived["persons"] == ["alice@inserm.example"] and "engine" not in archived  # unchanged; none named
    with pytest.raises(TransitionNotAllowed):  # an archived version cannot move again
        _permit(platform, first, permits.revoke, actor=p["ines"], reason="x")


def test_a_permit_is_extended_once_and_not_too_late(gov_world):
    """GOV-11: a second extension, or one asked less than a month before the end, is refused."""
    platform, p = gov_world
    first = _granted(platform, p)  # 24 months
    with platform.db.unit_of_work() as s:
        end = permits.get_permit(s, first).valid_until
    with pytest.raises(InvalidInput) as late:
        _permit(platform, first, permits.extend, actor=p["ines"], signer=platform.signer, months=6, reason="r",
                now=end - timedelta(days=10))
    assert late.value.code == "extension_too_late"
    for months in (97, 0, 10**12):  # a huge number overflowed the calendar: a 500 (issue 16)
        with pytest.raises(InvalidInput, match="10 years"):
            _permit(platform, first, permits.extend, actor=p["ines"], signer=platform.signer, months=months,
                    reason="r")
    second, status, _ = _permit(platform, first, permits.extend, actor=p["ines"], signer=platform.signer, months=6,
                                reason="follow-up of the cohort")
    assert status == "active" and _verified(platform, second)["valid_until"] > _verified(platform, first)["valid_until"]
    with pytest.raises(InvalidInput) as again:
        _permit(platform, second, permits.extend, actor=p["ines"], signer=platform.signer, months=6, reason="r")
    assert again.value.code == "already_extended"
    with pytest.raises(TransitionNotAllowed):  # a researcher does not extend their own permit
        _permit(platform, second, permits.revoke, actor=p["alice"], reason="x")


def test_revocation_and_scheduled_expiry_are_audited_events(gov_world):
    """GOV-15: the workspaces act on `permit:revoke` and `permit:expire`."""
    platform, p = gov_world
    revoked, expiring = _granted(platform, p), _granted(platform, p)
    _permit(platform, revoked, permits.revoke, actor=p["ines"], reason="breach of the permit's conditions")
    with platform.db.unit_of_work() as s:
        assert permits.expire_due(s) == []  # nothing is due yet
        end = permits.get_permit(s, expiring).valid_until
    with platform.db.unit_of_work() as s:
        assert [x.id for x in permits.expire_due(s, now=end + timedelta(seconds=1))] == [expiring]
    with platform.db.unit_of_work() as s:
        statuses = {x.id: x.status for x in permits.list_permits(s)}
        actions = [e.action for e in audit.list_events(s, limit=5)]
    assert statuses == {revoked: "revoked", expiring: "expired"}
    assert actions[0] == "permit:expire" and "permit:revoke" in actions


def test_optout_applies_to_permits_issued_after_it_only(gov_world):
    """GOV-16: who objected before a permit is excluded from it; later objections do not change it."""
    platform, p = gov_world
    with pytest.raises(Forbidden):
        with platform.db.unit_of_work() as s:
            optout.record_optout(s, actor=p["ines"], pseudonym="PSA-0001")
    with platform.db.unit_of_work() as s:
        optout.record_optout(s, actor=p["louis"], pseudonym="PSA-0001")
    earlier = _granted(platform, p)
    with platform.db.unit_of_work() as s:
        optout.record_optout(s, actor=p["louis"], pseudonym="PSA-0002", now=utcnow() + timedelta(seconds=1))
        optout.record_optout(s, actor=p["louis"], pseudonym="PSA-0001")  # again: the first date stands
    amended, _, _ = _permit(platform, earlier, permits.amend, actor=p["ines"], signer=platform.signer,
                            changes={"tools": "R"}, reason="tools")
    later = _granted(platform, p)
    with platform.db.unit_of_work() as s:
        assert optout.excluded(s, permit=permits.get_permit(s, earlier)) == ["PSA-0001"]
        assert optout.excluded(s, permit=permits.get_permit(s, amended)) == ["PSA-0001"]  # not retroactive
        later_permit = permits.get_permit(s, later)
        later_permit.optout_as_of = utcnow() + timedelta(seconds=2)  # issued after the second objection
        assert optout.excluded(s, permit=later_permit) == ["PSA-0001", "PSA-0002"]
        s.rollback()
    assert _verified(platform, earlier)["optout_as_of"]


def test_calls_for_projects_score_rank_and_select(gov_world):
    platform, p = gov_world
    today = date.today()
    with platform.db.unit_of_work() as s:
        with pytest.raises(InvalidInput, match="criteria"):
            calls.create_call(s, actor=p["ines"], title="IA et santé", theme="IA", description="", opens_on=today,
                              closes_on=today, criteria=[{"name": "x", "weight": 0}])
        with pytest.raises(Forbidden):
            calls.create_call(s, actor=p["alice"], title="T", theme="T", description="", opens_on=today,
                              closes_on=today, criteria=[{"name": "x"}])
        call = calls.create_call(s, actor=p["ines"], title="IA et santé", theme="IA", description="",
                                 opens_on=today, closes_on=today + timedelta(days=30),
                                 criteria=[{"name": "science", "weight": 2}, {"name": "impact", "weight": 1}])
        closed = calls.create_call(s, actor=p["ines"], title="Ancien appel", theme="x", description="",
                                   opens_on=today - timedelta(days=60), closes_on=today - timedelta(days=30),
                                   criteria=[{"name": "science", "weight": 1}])
        call_id, closed_id = call.id, closed.id
    ids = []
    for title in ("Projet A", "Projet B"):
        with platform.db.unit_of_work() as s:
            user = identity.get_user(s, "alice@labo.example")
            ids.append(gov.create_application(s, actor=p["alice"], user=user, title=title, procedure="standard",
                                              form=FULL, call=calls.get_call(s, call_id)).id)
        _do(platform, ids[-1], gov.act, actor=p["alice"], action="submit")
    with platform.db.unit_of_work() as s, pytest.raises(Conflict, match="open from"):
        gov.create_application(s, actor=p["alice"], user=identity.get_user(s, "alice@labo.example"), title="late",
                               procedure="standard", call=calls.get_call(s, closed_id))
    marks = {ids[0]: {"science": 2, "impact": 5}, ids[1]: {"science": 5, "impact": 1}}
    for app_id, by_criterion in marks.items():
        for criterion, value in by_criterion.items():
            _do(platform, app_id, calls.score, actor=p["ines"], criterion=criterion, value=value)
    with pytest.raises(InvalidInput, match="0 to 5"):
        _do(platform, ids[0], calls.score, actor=p["ines"], criterion="science", value=9)
    with platform.db.unit_of_work() as s:
        ranked = calls.ranking(s, call=calls.get_call(s, call_id))
        # weighted: science counts twice; B's 5 in science outweighs A's 5 in impact
        assert [(r.application.id, r.total, r.reviewers) for r in ranked] == [(ids[1], 3.667, 1), (ids[0], 3.0, 1)]
        chosen = calls.select_applications(s, actor=p["ines"], call=calls.get_call(s, call_id), chosen=[ids[1]])
        assert [a.status for a in chosen] == ["pre_screening"]
    with platform.db.unit_of_work() as s, pytest.raises(Conflict, match="already"):
        calls.select_applications(s, actor=p["ines"], call=calls.get_call(s, call_id), chosen=[ids[0]])


def test_a_worker_expires_permits_within_seconds(gov_world):
    """GOV-11: a running worker's scheduled check expires a permit past its end date."""
    platform, p = gov_world
    permit_id = _granted(platform, p)
    with platform.db.unit_of_work() as s:
        permits.get_permit(s, permit_id).valid_until = utcnow() - timedelta(seconds=1)
        audit.record(s, actor=p["ines"], action="permit:issue", target="test:shorten")  # the test's own change
    platform.settings.permit_check_seconds = 1
    with working(platform):
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with platform.db.unit_of_work() as s:
                if permits.get_permit(s, permit_id).status == "expired":
                    break
            time.sleep(0.2)
    with platform.db.unit_of_work() as s:
        assert permits.get_permit(s, permit_id).status == "expired"


def test_permit_call_optout_and_audit_endpoints(gov_world):
    """The same operations through the API, with the role each needs."""
    platform, p = gov_world
    permit_id = _granted(platform, p)
    app = create_app(platform)
    with platform.db.unit_of_work() as s:
        ids = {name: identity.get_user(s, f"{name}@{dom}").id
               for name, dom in (("ines", "hdh.example"), ("louis", "hdh.example"), ("alice", "labo.example"))}
        auditor = identity.create_user(s, actor=operator_actor(), email="audrey@hdh.example", name="A",
                                       organisation=identity.get_organisation(s, "HDH"), roles={"auditor"},
                                       end_of_rights=date.today() + timedelta(days=30)).id
    ines, louis, alice = (session_client(app, platform, ids[n]) for n in ("ines", "louis", "alice"))
    amended = ines.post(f"/api/permits/{permit_id}/amend", json={"changes": {"tools": "R"}, "reason": "tools"})
    assert amended.status_code == 201 and amended.json()["version"] == 2
    new_id = amended.json()["id"]
    extended = ines.post(f"/api/permits/{new_id}/extend", json={"months": 3, "reason": "more time"})
    assert extended.status_code == 201 and extended.json()["extended"] is True
    again = ines.post(f"/api/permits/{extended.json()['id']}/extend", json={"months": 3, "reason": "again"})
    assert again.status_code == 422 and again.json()["error"]["code"] == "already_extended"
    revoked = ines.post(f"/api/permits/{extended.json()['id']}/revoke", json={"reason": "breach"})
    assert revoked.json()["status"] == "revoked" and revoked.json()["status_reason"] == "breach"
    assert [x["status"] for x in alice.get("/api/permits").json()] == ["superseded", "superseded", "revoked"]
    assert louis.post("/api/optouts", json={"pseudonym": "PSA-9"}).json()["registered"] == 1

    today = date.today()
    call = ines.post("/api/calls", json={"title": "IA", "theme": "IA", "opens_on": str(today),
                                         "closes_on": str(today + timedelta(days=9)),
                                         "criteria": [{"name": "science", "weight": 1}]})
    assert call.status_code == 201 and client_for(app).get("/api/calls").json()[0]["open"] is True
    call_id = call.json()["id"]
    created = alice.post("/api/applications", json={"title": "P", "procedure": "MR-004", "form": FULL,
                                                     "call_id": call_id}).json()
    alice.post(f"/api/applications/{created['id']}/actions/submit", json={})
    not_in_call = ines.post(f"/api/calls/{call_id}/scores", json={"application_id": permit_id, "criterion": "science",
                                                                  "score": 3})
    assert not_in_call.status_code == 403
    assert ines.post(f"/api/calls/{call_id}/scores", json={"application_id": created["id"], "criterion": "science",
                                                           "score": 4}).status_code == 204
    assert ines.get(f"/api/calls/{call_id}/ranking").json()[0]["total"] == 4.0
    chosen = ines.post(f"/api/calls/{call_id}/selection", json={"applications": [created["id"]]})
    assert [a["status"] for a in chosen.json()] == ["pre_screening"]

    target = f"application:{created['reference']}"
    events = session_client(app, platform, auditor).get("/api/audit/events", params={"target": target}).json()
    assert [e["action"] for e in events][:2] == ["application:screen", "call:score"]

"""Issue 18, item 5: a home page per role — where every person lands once signed in (no role
lands on a 403 any more), showing what waits for them and by when, and only what their roles
let them act on (the sections come from the domains' own queries: bastide.inbox)."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest

from bastide.airlock import service as airlock
from bastide.server import create_app
from bastide.audit.service import record
from bastide.db import utcnow
from bastide.governance import service as gov
from bastide.identity import service as identity
from bastide.identity.roles import Role
from bastide.inbox import service as inbox
from bastide.platform import operator_actor
from tests.integration.test_airlock import _do as _on_request
from tests.integration.test_airlock import _drafted, airlock_world  # noqa: F401 - a fixture
from tests.integration.test_applications import _do, _new
from tests.portal import client_for, one_account_per_role, session_client
from tests.unit.test_application_form import FULL

SQLITE_ONLY = pytest.mark.parametrize("deployment_kind", ["sqlite+local"], indirect=True)  # the deployment is irrelevant


def _waiting(platform, email: str) -> dict[str, list[tuple[str, str, str]]]:
    """Section key → (reference, status, to-do) of what waits for the person."""
    with platform.db.unit_of_work() as s:
        user = identity.get_user(s, email)
        sections = inbox.for_person(s, actor=identity.actor_of(user), user=user)
    return {sec.key: [(i.reference, i.status, i.todo) for i in sec.items] for sec in sections}


def test_every_role_lands_on_its_home_and_sees_only_its_own_sections(gov_world):
    """Administrators and output checkers landed on a 403 after signing in; now everyone lands
    on /home, which shows each of their roles' work and no other role's."""
    platform, _p = gov_world
    with platform.db.unit_of_work() as s:
        users = {role: u.id for role, u in one_account_per_role(s, platform, until=date.today() + timedelta(days=90))
                 .items()}
    app = create_app(platform)
    assert 'name="next" value="/home"' in client_for(app).get("/login").text
    for role in Role:
        page = session_client(app, platform, users[role.value]).get("/home?lang=en")
        assert page.status_code == 200, (role, page.text[:300])
        shown = set(re.findall(r'<section class="role" id="role-([a-z_]+)">', page.text))
        assert shown == {role.value}, (role, shown)
        assert 'href="/home"' in page.text  # in the header, for every signed-in person
        assert "role_" not in page.text and "section_" not in page.text and "todo_" not in page.text  # all translated


def test_an_application_waits_for_the_applicant_then_the_instructor_then_the_recorder(gov_world):
    platform, p = gov_world
    app_id = _new(platform, p["alice"])
    ref = f"APP-{app_id:06d}"
    assert _waiting(platform, "alice@labo.example")["my_applications"] == [(ref, "draft", "complete_and_submit")]
    assert _waiting(platform, "ines@hdh.example")["to_instruct"] == []  # a draft is the applicant's alone
    _do(platform, app_id, gov.update_form, actor=p["alice"], changes=FULL)
    _do(platform, app_id, gov.act, actor=p["alice"], action="submit")
    assert _waiting(platform, "alice@labo.example")["my_applications"] == [(ref, "submitted", "wait")]
    (queued,) = _waiting(platform, "ines@hdh.example")["to_instruct"]
    assert queued == (ref, "submitted", "screen")
    _do(platform, app_id, gov.act, actor=p["ines"], action="screen")
    _do(platform, app_id, gov.act, actor=p["ines"], action="request_information", justification="which years?")
    assert _waiting(platform, "alice@labo.example")["my_applications"] == [(ref, "awaiting_additional_information",
                                                                           "answer")]
    _do(platform, app_id, gov.act, actor=p["alice"], action="provide_information")
    assert _waiting(platform, "ines@hdh.example")["to_instruct"] == [(ref, "processing", "decide")]
    assert _waiting(platform, "louis@hdh.example")["opinions_to_record"] == [(ref, "processing", "record_opinion")]
    for kind in ("ethics", "cnil"):
        _do(platform, app_id, gov.record_opinion, actor=p["louis"], kind=kind, reference=f"{kind}-1",
            on=date.today(), outcome="favourable")
    assert _waiting(platform, "louis@hdh.example")["opinions_to_record"] == []  # both recorded: nothing left
    with platform.db.unit_of_work() as s:
        louis = session_client(create_app(platform), platform, identity.get_user(s, "louis@hdh.example").id)
    screen = louis.get(f"/applications/{app_id}/decision?lang=en").text  # an opinion was shown as a Python dict
    application = re.search(r'<section id="the-application">(.*?)</section>', screen, re.DOTALL).group(1)
    assert "cohort study" in application and "scientific research related to health or care" in application  # beside
    assert re.search(r'<p id="deadline">Decision due on <strong>\d{4}-\d{2}-\d{2}</strong>', screen)  # issue 18, item 6
    row = re.search(r'<tr id="opinion-ethics">(.*?)</tr>', screen, re.DOTALL).group(1)
    assert f"favourable — <code>ethics-1</code>, {date.today().isoformat()}" in row and "{" not in row


def test_the_instructors_deadline_shows_and_an_overdue_one_says_so(gov_world):
    platform, p = gov_world
    app_id = _new(platform, p["alice"], form=FULL)
    _do(platform, app_id, gov.act, actor=p["alice"], action="submit")
    with platform.db.unit_of_work() as s:
        user = identity.get_user(s, "ines@hdh.example")
        (item,) = inbox.for_person(s, actor=identity.actor_of(user), user=user)[0].items
        (late,) = inbox.for_person(s, actor=identity.actor_of(user), user=user, now=utcnow() + timedelta(days=400))[0].items
    assert item.due is not None and item.due > date.today() and not item.overdue
    assert late.overdue


@SQLITE_ONLY
def test_a_checker_sees_what_to_vote_on_until_they_have_voted(airlock_world):  # noqa: F811 - the fixture
    platform, p, ws_id = airlock_world
    req = _drafted(platform, p, ws_id)
    ref = f"REQ-{req:06d}"
    assert _waiting(platform, "alice@labo.example")["my_release_requests"] == [(ref, "draft", "complete_and_submit")]
    assert _waiting(platform, "olga@hdh.example")["outputs_to_review"] == []  # a draft is not the checkers' yet
    _on_request(platform, airlock.submit, req, platform=platform, actor=p["alice"])
    assert _waiting(platform, "olga@hdh.example")["outputs_to_review"] == [(ref, "submitted", "vote")]
    _on_request(platform, airlock.vote, req, actor=p["olga"], name="t.csv", decision="approve")
    assert _waiting(platform, "olga@hdh.example")["outputs_to_review"] == []  # voted: the other checker's turn
    assert _waiting(platform, "oscar@hdh.example")["outputs_to_review"] == [(ref, "partially_reviewed", "vote")]
    assert "my_workspaces" in _waiting(platform, "alice@labo.example")
    assert [w[2] for w in _waiting(platform, "alice@labo.example")["my_workspaces"]] == ["work"]


def test_the_administrator_sees_locked_accounts_and_rights_ending(gov_world):
    platform, _p = gov_world
    with platform.db.unit_of_work() as s:
        users = one_account_per_role(s, platform, until=date.today() + timedelta(days=90))
        identity.get_user(s, "alice@labo.example").locked_at = utcnow()
        identity.get_user(s, "bob@labo.example").end_of_rights = date.today() + timedelta(days=3)
        record(s, actor=operator_actor(), action="user:lock", target="test:accounts")
    waiting = _waiting(platform, users["administrator"].email)["accounts_to_see"]
    assert ("alice@labo.example", "locked", "unlock") in waiting
    assert ("bob@labo.example", "rights_ending", "renew_or_let_end") in waiting
    assert all(email.endswith(("labo.example", "hdh.example")) for email, _s, _t in waiting)  # 90 days: not ending


def test_the_auditor_sees_how_much_of_the_trail_is_signed(gov_world):
    from bastide.audit import checkpoints

    platform, _p = gov_world
    with platform.db.unit_of_work() as s:
        users = one_account_per_role(s, platform, until=date.today() + timedelta(days=90))
    ((events, status, todo),) = _waiting(platform, users["auditor"].email)["audit_trail"]
    assert status == "unsigned_events" and todo == "verify" and int(events.replace(",", "")) > 0
    with platform.db.unit_of_work() as s:
        checkpoints.checkpoint(s, signer=platform.signer)
    assert _waiting(platform, users["auditor"].email)["audit_trail"][0][1] == "signed"


def test_an_application_page_offers_each_person_only_what_they_may_do(gov_world):
    """Issue 18, item 6: the applicant was offered `screen` (a 409), buttons showed raw identifiers."""
    platform, p = gov_world
    app_id = _new(platform, p["alice"], form=FULL)
    app = create_app(platform)
    with platform.db.unit_of_work() as s:
        ids = {n: identity.get_user(s, f"{n}@{d}").id for n, d in (("alice", "labo.example"), ("bob", "labo.example"),
                                                                 ("ines", "hdh.example"))}
    alice, bob, ines = (session_client(app, platform, ids[n]) for n in ("alice", "bob", "ines"))

    def offered(client) -> list[str]:
        return re.findall(r'name="action" value="([a-z_]+)">([^<]+)<', client.get(f"/applications/{app_id}?lang=en").text)

    assert offered(alice) == [("withdraw", "Withdraw the application")]
    assert 'name="then" value="submit">Save and submit<' in alice.get(f"/applications/{app_id}?lang=en").text  # at the form's end
    assert offered(bob) == []  # another researcher: not his application (and he may not read it)
    _do(platform, app_id, gov.act, actor=p["alice"], action="submit")
    assert offered(alice) == [("withdraw", "Withdraw the application")]  # not `screen`: that is the instructor's
    assert offered(ines) == [("screen", "Screen")]
    with platform.db.unit_of_work() as s:
        a = gov.get_application(s, app_id)
        assert gov.can_act(p["ines"], a, "screen") and not gov.can_act(p["alice"], a, "screen")
        assert not gov.can_act(p["bob"], a, "withdraw")  # the applicant's action, but not his application

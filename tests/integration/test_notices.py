"""Issue 18, item 9: people are told by e-mail — through a real SMTP server (aiosmtpd) — when
information is asked of them, when their application is decided, when their release request is
released, returned or rejected. The notice is written with what happened (rolled back with it),
mailed by a worker, tried again while the relay is down, never sent twice by racing workers."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
from datetime import timedelta
from email.header import decode_header, make_header

import pytest
from sqlalchemy import select

from bastide.airlock import service as airlock
from bastide.server import create_app
from bastide.audit.service import list_events
from bastide.db import utcnow
from bastide.errors import InvalidInput
from bastide.governance import service as gov
from bastide.notices import service as notices
from bastide.notices.models import Notice
from bastide.worker.service import Worker, drain
from tests.integration.test_airlock import _do as _on_request
from tests.integration.test_airlock import _drafted, airlock_world  # noqa: F401 - a fixture
from tests.integration.test_applications import _do, _new
from tests.portal import client_for, person
from tests.services import Relay, free_port, settings_env
from tests.unit.test_application_form import FULL

SQLITE_ONLY = pytest.mark.parametrize("deployment_kind", ["sqlite+local"], indirect=True)
PUBLIC = "https://donnees.example"


def _text(message) -> tuple[str, str, str]:
    """To, subject and body of a received message, decoded."""
    body = message.get_payload(decode=True).decode() if not message.is_multipart() else message.get_payload(0).get_payload()
    return message["To"], str(make_header(decode_header(message["Subject"]))), body


def _configure(platform, relay: Relay | None) -> None:
    platform.settings.mail_url = relay.url if relay else _nobody_listens()
    platform.settings.public_url = PUBLIC


def _nobody_listens() -> str:
    """A relay that is down: a port nothing listens on."""
    return f"smtp://127.0.0.1:{free_port()}"


def _waiting(platform) -> list[Notice]:
    with platform.db.unit_of_work() as s:
        return list(s.execute(select(Notice).where(Notice.sent_at.is_(None))).scalars())


def _screened(platform, p) -> int:
    app_id = _new(platform, p["alice"], form=FULL)
    _do(platform, app_id, gov.act, actor=p["alice"], action="submit")
    _do(platform, app_id, gov.act, actor=p["ines"], action="screen")
    return app_id


def _asked(platform, p, justification: str = "which years?") -> int:
    """An application the instructor asked information about: a notice to alice waits."""
    app_id = _screened(platform, p)
    _do(platform, app_id, gov.act, actor=p["ines"], action="request_information", justification=justification)
    return app_id


def test_the_applicant_is_told_of_the_request_for_information_and_of_the_decision(gov_world):
    platform, p = gov_world
    app_id = _screened(platform, p)
    with pytest.raises(InvalidInput):  # refused: nothing happened, so nothing is to be told
        _do(platform, app_id, gov.act, actor=p["ines"], action="request_information")
    assert _waiting(platform) == []
    _do(platform, app_id, gov.act, actor=p["ines"], action="request_information", justification="Quelles années ?")
    with Relay() as relay:
        _configure(platform, relay)
        assert drain(platform, checks_first=False).notices == 1
    ((to, subject, body),) = [_text(m) for m in relay.received]
    reference = f"APP-{app_id:06d}"
    assert to == "alice@labo.example"
    assert subject == (f"[Bastide] Compléments demandés pour votre demande {reference} / "
                       f"Information requested for your application {reference}")
    assert "Quelles années ?" in body and body.count(f"{PUBLIC}/applications/{app_id}") == 2  # French, then English
    assert body.index("Bonjour") < body.index("Hello")
    with platform.db.unit_of_work() as s:
        (sent,) = list_events(s, action="notice:send", limit=5)
        assert sent.details["to"] == "alice@labo.example" and sent.details["kind"] == "information_requested"

    _do(platform, app_id, gov.act, actor=p["alice"], action="provide_information")
    for criterion in "abcdefgh":
        _do(platform, app_id, gov.assess, actor=p["ines"], criterion=criterion, met=False, note="non")
    _do(platform, app_id, gov.act, actor=p["ines"], action="refuse", justification="finalité non établie")
    with Relay() as relay:
        _configure(platform, relay)
        drain(platform, checks_first=False)
    ((to, subject, body),) = [_text(m) for m in relay.received]
    assert "est refusée" in subject and "is refused" in subject and "finalité non établie" in body


def test_a_relay_that_is_down_holds_nothing_back_and_the_notice_goes_once_it_is_up(gov_world):
    platform, p = gov_world
    app_id = _asked(platform, p)
    _configure(platform, None)  # the relay is down
    assert drain(platform, checks_first=False).notices == 1  # tried, failed, put off
    (notice,) = _waiting(platform)
    assert notice.attempts == 1 and "127.0.0.1" in notice.last_error and notice.claimed_by is None
    assert notice.next_attempt_at > utcnow() + timedelta(seconds=20)  # not tried again at once
    assert drain(platform, checks_first=False).notices == 0
    with platform.db.unit_of_work() as s:  # the application moved on regardless
        assert gov.get_application(s, app_id).status == "awaiting_additional_information"
        s.get(Notice, notice.id).next_attempt_at = utcnow()  # the wait is over
    with Relay() as relay:
        _configure(platform, relay)
        assert drain(platform, checks_first=False).notices == 1
    assert len(relay.received) == 1 and _waiting(platform) == []


def test_a_notice_is_given_up_after_every_try_and_the_operators_see_it(gov_world):
    platform, p = gov_world
    _asked(platform, p)
    _configure(platform, None)
    for _ in range(notices.MAX_ATTEMPTS):
        with platform.db.unit_of_work() as s:
            for notice in s.execute(select(Notice)).scalars():
                notice.next_attempt_at = utcnow()
        drain(platform, checks_first=False)
    with platform.db.unit_of_work() as s:
        (notice,) = s.execute(select(Notice)).scalars()
        assert notice.given_up_at is not None and notice.attempts == notices.MAX_ATTEMPTS
        assert notices.counts(s) == {"waiting": 0, "given_up": 1}
        (given_up,) = list_events(s, action="notice:give_up", limit=5)
        assert given_up.target == f"notice:{notice.id}"
    # the relay mended, the operator puts it back in the queue; a worker mails it
    retried = subprocess.run([sys.executable, "-m", "bastide.cli", "notices", "retry"], capture_output=True, text=True,
                             env={**os.environ, **settings_env(platform.settings)}, check=False)
    assert retried.returncode == 0 and "1 notice(s) back in the queue" in retried.stdout, retried.stderr
    with Relay() as relay:
        _configure(platform, relay)
        assert drain(platform, checks_first=False).notices == 1
    assert len(relay.received) == 1 and _waiting(platform) == []
    with platform.db.unit_of_work() as s:
        assert notices.counts(s) == {"waiting": 0, "given_up": 0} and list_events(s, action="notice:retry", limit=5)


def test_the_waits_between_tries_grow_and_stay_bounded():
    waits = [notices.wait_after(n) for n in range(1, 12)]
    assert waits[:4] == [timedelta(seconds=30), timedelta(minutes=1), timedelta(minutes=2), timedelta(minutes=4)]
    assert waits[-1] == timedelta(hours=1) and waits == sorted(waits)


def test_racing_workers_mail_each_notice_once(gov_world):
    platform, p = gov_world
    for _ in range(6):
        _asked(platform, p)
    with Relay() as relay:
        _configure(platform, relay)
        workers = [Worker(platform, slots=1) for _ in range(4)]
        threads = [threading.Thread(target=lambda w=w: [None for _ in iter(w.take_notice, False)]) for w in workers]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
    assert len(relay.received) == 6 and _waiting(platform) == []
    with platform.db.unit_of_work() as s:
        assert len(list_events(s, action="notice:send", limit=50)) == 6


def test_a_stale_claim_is_taken_again(gov_world):
    """A worker that died mid-send leaves its claim: once stale, another worker sends it (a person
    may be told twice, never not at all)."""
    platform, p = gov_world
    _asked(platform, p)
    with platform.db.unit_of_work() as s:
        assert notices.claim(s, by="worker@gone") is not None
    with platform.db.unit_of_work() as s:
        assert notices.claim(s, by="worker@alive") is None  # held, and not yet stale
        later = utcnow() + notices.CLAIM_STALE + timedelta(seconds=1)
        assert notices.claim(s, by="worker@alive", now=later).claimed_by == "worker@alive"


@SQLITE_ONLY
def test_the_researcher_is_told_when_the_release_is_out_or_returned(airlock_world):  # noqa: F811 - the fixture
    platform, p, ws_id = airlock_world
    returned = _drafted(platform, p, ws_id)
    _on_request(platform, airlock.submit, returned, platform=platform, actor=p["alice"])
    _on_request(platform, airlock.vote, returned, actor=p["olga"], name="t.csv", decision="return", comment="ages?")
    _on_request(platform, airlock.decide, returned, platform=platform, actor=p["olga"], action="return",
                comment="label the age groups")
    with Relay() as relay:
        _configure(platform, relay)
        drain(platform, checks_first=False)
    mails = [_text(m) for m in relay.received]
    (to, subject, body), = [m for m in mails if "REQ-" in m[1]]
    assert to == "alice@labo.example" and "renvoyée" in subject
    assert "label the age groups" not in body and "ages?" not in body  # checkers' words may quote an output
    assert f"{PUBLIC}/releases/{returned}" in body
    with platform.db.unit_of_work() as s:
        assert {n.kind for n in s.execute(select(Notice)).scalars()} >= {"release_returned"}


def test_every_notice_has_its_texts_in_both_languages():
    from bastide import i18n

    for lang in i18n.LANGUAGES:
        known = {m.id for m in i18n.catalogue(lang) if m.id}
        for kind in notices.KINDS:
            assert {f"mail_{kind}_subject", f"mail_{kind}_body"} <= known, (lang, kind)
    composed = notices.compose(Notice(kind="decision_granted", recipient="a@b.example", path="/applications/7",
                                      values={"reference": "APP-000007", "title": "T", "justification": ""}),
                               "https://x.example/")
    assert composed.body.count("https://x.example/applications/7") == 2 and "APP-000007" in composed.subject


def test_an_account_link_goes_to_the_person_only_when_a_relay_carries_it(gov_world):
    """Issue 18, item 9: with a mail relay, a new account's activation link is mailed to the person
    and shown neither in the API's answer nor on the administrator's page (who could otherwise
    activate it in their place); without one (a laptop) it is given to the operator, as before."""
    platform, _p = gov_world
    app = create_app(platform)
    ada = person(app, platform, email="ada@hdh.example", org="HDH", sector="public", roles={"administrator"})
    account = {"name": "Chloé", "organisation": "HDH", "roles": ["instructor"],
               "end_of_rights": (utcnow() + timedelta(days=90)).date().isoformat()}
    with Relay() as relay:
        _configure(platform, relay)
        created = ada.post("/api/users", json={**account, "email": "chloe@hdh.example"})
        page = ada.post("/admin/users", data={**account, "roles": "instructor", "email": "dan@hdh.example",
                                              "csrf_token": ada.headers["X-CSRF-Token"]})
    assert created.status_code == 201, created.text
    assert created.json()["activation_url"] is None and created.json()["sent_to"] == "127.0.0.1"
    assert 'id="activation-sent"' in page.text and "/activate/" not in page.text
    mailed = {to: body for to, _subject, body in map(_text, relay.received)}
    assert set(mailed) == {"chloe@hdh.example", "dan@hdh.example"}
    link = re.search(rf"{PUBLIC}(/activate/\S+)", mailed["chloe@hdh.example"]).group(1)
    assert "Chloé" in mailed["chloe@hdh.example"] and client_for(app).get(link).status_code == 200
    platform.settings.mail_url = None  # a laptop: no relay, the operator hands the link over
    laptop = ada.post("/api/users", json={**account, "email": "eve@hdh.example"}).json()
    assert laptop["activation_url"].startswith(f"{PUBLIC}/activate/") and laptop["sent_to"].endswith(".eml")

"""Comments between a release request's researchers and its checkers (issue 18, item 7; SPE-08):
who may say something and when, kept with their round, audited in the same transaction, the
requester told by mail without the text, and the pages' conversation (request and review)."""

from __future__ import annotations

import html

import pytest
from sqlalchemy import select

from bastide.airlock import comments
from bastide.airlock import service as airlock
from bastide.audit.service import list_events
from bastide.errors import Conflict, InvalidInput, NotFound
from bastide.identity import service as identity
from bastide.identity.policy import Forbidden
from bastide.notices.models import Notice
from bastide.server import create_app
from tests.integration.test_airlock import _do, _drafted, airlock_world  # noqa: F401 - a fixture
from tests.portal import session_client

SQLITE_ONLY = pytest.mark.parametrize("deployment_kind", ["sqlite+local"], indirect=True)


def _said(platform, request_id: int, actor, body: str, file: str | None = None):
    return _do(platform, comments.comment, request_id, actor=actor, body=body, file=file)


def test_the_researcher_and_the_checkers_talk_about_a_submitted_request(airlock_world):  # noqa: F811
    platform, p, ws_id = airlock_world
    req = _drafted(platform, p, ws_id)
    with pytest.raises(Conflict, match="comments are made while it is under review"):
        _said(platform, req, p["alice"], "draft notes")  # a draft is the researcher's own
    _do(platform, airlock.submit, req, platform=platform, actor=p["alice"])

    _said(platform, req, p["olga"], "Are the ages in 5-year groups?", file="t.csv")
    _said(platform, req, p["alice"], "Yes, 5-year groups, 0-4 to 85+.")
    with platform.db.unit_of_work() as s:
        said = airlock.get_request(s, req).comments
        assert [(c.author, c.file, c.round, c.body) for c in said] == [
            ("user:olga@hdh.example", "t.csv", 1, "Are the ages in 5-year groups?"),
            ("user:alice@labo.example", None, 1, "Yes, 5-year groups, 0-4 to 85+.")]
        events = [e for e in list_events(s, target=f"release:REQ-{req:06d}", limit=50) if e.action == "release:comment"]
        assert sorted((e.actor, e.details["file"], e.details["characters"]) for e in events) == [
            ("user:alice@labo.example", None, 31), ("user:olga@hdh.example", "t.csv", 30)]
        told = list(s.execute(select(Notice).where(Notice.kind == "release_comment").order_by(Notice.id)).scalars())
        # olga's word to alice, then alice's answer to olga (the checker already on the request); oscar,
        # who neither voted nor wrote, is not told
        assert [(n.recipient, n.path) for n in told] == [("alice@labo.example", f"/releases/{req}"),
                                                         ("olga@hdh.example", f"/releases/{req}")]
        assert all("5-year" not in str(n.values) for n in told)  # the words stay in the platform


def test_who_may_not_comment_and_what_is_not_a_comment(airlock_world):  # noqa: F811
    platform, p, ws_id = airlock_world
    req = _drafted(platform, p, ws_id)
    _do(platform, airlock.submit, req, platform=platform, actor=p["alice"])
    with pytest.raises(Forbidden):
        _said(platform, req, p["bob"], "hello")  # another project's researcher
    with pytest.raises(Forbidden):
        _said(platform, req, p["ines"], "hello")  # an instructor is no checker
    for body in ("", "   ", "x" * (comments.MAX_LENGTH + 1), "bell\x07"):
        with pytest.raises(InvalidInput):
            _said(platform, req, p["olga"], body)
    with pytest.raises(NotFound, match="has no file nope.csv"):
        _said(platform, req, p["olga"], "about nothing", file="nope.csv")
    _do(platform, airlock.withdraw, req, actor=p["alice"])
    with pytest.raises(Forbidden):
        _said(platform, req, p["olga"], "too late")  # a checker no longer reads a withdrawn request
    with pytest.raises(Conflict, match="comments are made while"):
        _said(platform, req, p["alice"], "too late")
    with platform.db.unit_of_work() as s:
        assert airlock.get_request(s, req).comments == []  # nothing half-written


@SQLITE_ONLY
def test_the_conversation_on_the_request_and_review_pages(airlock_world):  # noqa: F811
    platform, p, ws_id = airlock_world
    req = _drafted(platform, p, ws_id)
    _do(platform, airlock.submit, req, platform=platform, actor=p["alice"])
    app = create_app(platform)
    with platform.db.unit_of_work() as s:
        olga = session_client(app, platform, identity.get_user(s, "olga@hdh.example").id)
        alice = session_client(app, platform, identity.get_user(s, "alice@labo.example").id)

    review = olga.get(f"/releases/{req}/files/t.csv/review")
    assert 'id="comment-form"' in review.text and 'name="file" value="t.csv"' in review.text
    sent = olga.post(f"/releases/{req}/comment", data={"body": "Merge the 85+ group?", "file": "t.csv",
                                                        "back": "review", "csrf_token": olga.headers["X-CSRF-Token"]})
    assert sent.status_code == 303 and sent.headers["location"] == f"/releases/{req}/files/t.csv/review#comments"
    assert "Merge the 85+ group?" in olga.get(sent.headers["location"]).text

    page = alice.get(f"/releases/{req}").text
    assert "Merge the 85+ group?" in html.unescape(page) and "<code>t.csv</code>" in page
    empty = alice.post(f"/releases/{req}/comment", data={"body": " ", "csrf_token": alice.headers["X-CSRF-Token"]})
    assert empty.status_code == 422 and 'id="comment-form"' in empty.text  # said on the page, nothing recorded
    api = alice.post(f"/api/releases/{req}/comments", json={"body": "Done: 80+ now."})
    assert api.status_code == 201 and [c["body"] for c in api.json()["comments"]] == [
        "Merge the 85+ group?", "Done: 80+ now."]
    english = alice.get(f"/releases/{req}?lang=en").text
    assert "<h2>Conversation</h2>" in english


@SQLITE_ONLY
def test_the_home_pages_say_when_there_is_a_word_to_read(airlock_world):  # noqa: F811
    """Issue 18, item 5's notifications: the researcher's home says a checker wrote; once the
    researcher answers, the home of the checker who voted says so (not another checker's)."""
    from bastide.inbox import service as inbox

    platform, p, ws_id = airlock_world
    req = _drafted(platform, p, ws_id)
    _do(platform, airlock.submit, req, platform=platform, actor=p["alice"])

    def todo(name: str) -> str | None:
        email = f"{name}@{'labo' if name == 'alice' else 'hdh'}.example"
        with platform.db.unit_of_work() as s:
            items = [i for section in inbox.for_person(s, actor=p[name], user=identity.get_user(s, email))
                     for i in section.items if i.kind == "release" and i.id == req]
        return items[0].todo if items else None

    _do(platform, airlock.vote, req, actor=p["olga"], name="t.csv", decision="approve")
    _said(platform, req, p["olga"], "Why 5-year groups?", file="t.csv")
    assert todo("alice") == "read_comment"
    _said(platform, req, p["alice"], "The registry publishes them so.")
    assert todo("alice") == "wait" and todo("olga") == "read_answer"
    assert todo("oscar") == "vote"  # oscar has not voted: his work comes first, the answer was not to him

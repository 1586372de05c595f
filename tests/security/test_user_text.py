"""What people type comes back as text, and stays where it was written (rule 1: the user is
hostile). Comments, kept queries and chart labels are escaped on every page that shows them; a
kept query is read and forgotten only through its own workspace, by its own author; the code
picker takes codes, not SQL."""

from __future__ import annotations

import pytest

from bastide.airlock import comments
from bastide.airlock import service as airlock
from bastide.errors import InvalidInput, NotFound
from bastide.governance import service as gov
from bastide.governance import usecases
from bastide.identity import service as identity
from bastide.identity.policy import Forbidden
from bastide.server import create_app
from bastide.workspaces import saved
from bastide.workspaces import service as workspaces
from tests.integration.test_airlock import _do, _drafted, airlock_world  # noqa: F401 - a fixture
from tests.portal import session_client

SQLITE_ONLY = pytest.mark.parametrize("deployment_kind", ["sqlite+local"], indirect=True)
SCRIPT = '<script>alert("x")</script><img src=x onerror=alert(1)>'


@SQLITE_ONLY
def test_a_comment_a_kept_query_and_a_chart_label_are_shown_as_text(airlock_world):  # noqa: F811
    platform, p, ws_id = airlock_world
    req = _drafted(platform, p, ws_id)
    _do(platform, airlock.submit, req, platform=platform, actor=p["alice"])
    _do(platform, comments.comment, req, actor=p["alice"], body=SCRIPT)
    with platform.db.unit_of_work() as s:
        saved.keep(s, actor=p["alice"], ws=workspaces.get_workspace(s, ws_id), name="x", sql=f"SELECT '{SCRIPT}'")
    app = create_app(platform)
    with platform.db.unit_of_work() as s:
        olga = session_client(app, platform, identity.get_user(s, "olga@hdh.example").id)
        alice = session_client(app, platform, identity.get_user(s, "alice@labo.example").id)
    for page in (olga.get(f"/releases/{req}").text, alice.get(f"/workspaces/{ws_id}").text):
        assert "<script>alert" not in page and "<img src=x" not in page and "&lt;script&gt;" in page
    charted = alice.post(f"/workspaces/{ws_id}/query", data={
        "sql": f"SELECT * FROM (VALUES ('{SCRIPT}', 1), ('b', 2)) AS t(label, n)",
        "csrf_token": alice.headers["X-CSRF-Token"]}).text
    assert 'id="chart"' in charted and "<script>alert" not in charted and "<img src=x" not in charted


def test_a_kept_query_is_read_and_forgotten_only_through_its_workspace_by_its_author(airlock_world):  # noqa: F811
    platform, p, ws_id = airlock_world
    with platform.db.unit_of_work() as s:
        ws = workspaces.get_workspace(s, ws_id)
        kept = saved.keep(s, actor=p["alice"], ws=ws, name="mine", sql="SELECT 1")
        with pytest.raises(Forbidden):
            saved.forget(s, actor=p["olga"], ws=ws, query_id=kept.id)  # a checker is not on the permit
        with pytest.raises(Forbidden):
            saved.keep(s, actor=p["bob"], ws=ws, name="mine", sql="SELECT 2")  # not on the permit
    with platform.db.unit_of_work() as s:
        assert saved.list_saved(s, workspaces.get_workspace(s, ws_id))[0].sql == "SELECT 1"
    app = create_app(platform)
    with platform.db.unit_of_work() as s:
        bob = session_client(app, platform, identity.get_user(s, "bob@labo.example").id)
    assert bob.get(f"/api/workspaces/{ws_id}/kept-queries").status_code == 403  # entry refused, and audited
    assert bob.delete(f"/api/workspaces/{ws_id}/kept-queries/{kept.id}").status_code == 403
    with platform.db.unit_of_work() as s:
        with pytest.raises(NotFound):  # an id that is not this workspace's names nothing here
            saved.forget(s, actor=p["alice"], ws=workspaces.get_workspace(s, ws_id), query_id=kept.id + 1000)


def test_the_code_picker_takes_codes_not_sql(airlock_world):  # noqa: F811
    platform, p, _ws_id = airlock_world
    with platform.db.unit_of_work() as s:
        app = gov.create_application(s, actor=p["alice"], user=identity.get_user(s, "alice@labo.example"),
                                     title="T", procedure="standard")
        app_id = app.id
    for codes in (["E11'); DROP TABLE permit; --"], ["E11 OR 1=1"], ["É11"], ["E" * 40]):
        with platform.db.unit_of_work() as s, pytest.raises(InvalidInput, match="letters and digits"):
            usecases.add_codes(s, actor=p["alice"], app=gov.get_application(s, app_id), criterion="icd10",
                               codes=codes)
    with platform.db.unit_of_work() as s:
        assert "population" not in (gov.get_application(s, app_id).form.get("data") or {})

"""The researcher's workspace page (issue 18, item 8): the extract's tables with their columns
described by the release's dictionary and a preview, queries kept by name for the project, and a
chart of an answer. The data shown are the same screen views as the console's (counted, audited)."""

from __future__ import annotations

import html
import re

import pytest

from bastide.audit.service import list_events
from bastide.errors import Conflict, InvalidInput
from bastide.identity import service as identity
from bastide.identity.policy import Forbidden
from bastide.platform import operator_actor
from bastide.server import create_app
from bastide.workspaces import saved
from bastide.workspaces import service as workspaces
from tests.integration.test_permit_lifecycle import _granted
from tests.portal import session_client
from tests.workspace_fixtures import NAMED

SQLITE_ONLY = pytest.mark.parametrize("deployment_kind", ["sqlite+local"], indirect=True)


def _clients(platform, *names):
    app = create_app(platform)
    with platform.db.unit_of_work() as s:
        return [session_client(app, platform, identity.get_user(s, email).id) for email in names]


def _post(client, path, data):
    return client.post(path, data={**data, "csrf_token": client.headers["X-CSRF-Token"]})


@SQLITE_ONLY
def test_the_extracts_tables_are_browsed_with_their_dictionary_and_previewed(ready):
    platform, _p, _permit, ws_id, _done = ready
    alice, = _clients(platform, "alice@labo.example")
    page = alice.get(f"/workspaces/{ws_id}").text
    assert "<code>BEN_SEX_COD</code> <small>integer</small> — Code sexe du bénéficiaire" in html.unescape(page)
    assert 'name="sql" value="SELECT * FROM IR_BEN_R LIMIT 20"' in page

    preview = _post(alice, f"/workspaces/{ws_id}/query", {"sql": "SELECT * FROM IR_BEN_R LIMIT 20"})
    rows = re.search(r'<table id="result">.*?<tbody>(.*?)</tbody>', preview.text, re.S).group(1)
    assert 0 < rows.count("<tr>") <= 20
    with platform.db.unit_of_work() as s:  # a preview is a query like any other: audited
        ws = workspaces.get_workspace(s, ws_id)
        assert any(e.details.get("sql") == "SELECT * FROM IR_BEN_R LIMIT 20"
                   for e in list_events(s, target=workspaces.target(ws), limit=50) if e.action == "workspace:query")


@SQLITE_ONLY
def test_a_grouped_answer_is_drawn_as_bars(ready):
    platform, _p, _permit, ws_id, _done = ready
    alice, = _clients(platform, "alice@labo.example")
    sql = "SELECT BEN_NAI_ANN AS annee, count(*) AS n FROM IR_BEN_R GROUP BY 1 ORDER BY 1"
    page = _post(alice, f"/workspaces/{ws_id}/query", {"sql": sql}).text
    shown = re.findall(r"<tr><td>(\d+)</td><td>(\d+)</td></tr>", page)
    bars = re.findall(r"<title>(\d+) : ([\d.]+)</title>", page)
    assert 'id="chart"' in page and "n selon annee" in page and len(shown) >= 2
    assert [(y, float(n)) for y, n in shown[:40]] == [(y, float(n)) for y, n in bars]  # the same rows, drawn
    refused = html.unescape(_post(alice, f"/workspaces/{ws_id}/query", {"sql": "CREATE TABLE t AS SELECT 1"}).text)
    assert "Une requête d'espace de travail est une seule instruction en lecture" in refused  # said by the engine,
    assert "read-only statement" not in refused  # worded by the page in the person's language (issue 18, item 4)


def test_queries_are_kept_by_name_for_the_project(ready):
    platform, p, _permit, ws_id, _done = ready
    with platform.db.unit_of_work() as s:
        ws = workspaces.get_workspace(s, ws_id)
        kept = saved.keep(s, actor=p["alice"], ws=ws, name="Femmes par âge", sql="SELECT 1")
        saved.keep(s, actor=p["alice"], ws=ws, name="Femmes par âge", sql="SELECT 2")  # hers: replaced
        with pytest.raises(InvalidInput):
            saved.keep(s, actor=p["alice"], ws=ws, name="", sql="SELECT 3")
        with pytest.raises(InvalidInput):
            saved.keep(s, actor=p["alice"], ws=ws, name="x/../y", sql="SELECT 3")
        with pytest.raises(Forbidden):
            saved.keep(s, actor=p["bob"], ws=ws, name="mine", sql="SELECT 4")  # not named on the permit
        assert [(q.name, q.sql, q.author) for q in saved.list_saved(s, ws)] == [
            ("Femmes par âge", "SELECT 2", "user:alice@labo.example")]
        events = [e for e in list_events(s, target=workspaces.target(ws), limit=50) if e.action == "query:keep"]
        assert len(events) == 2 and all(e.details["query"] == kept.id for e in events)
        with pytest.raises(Forbidden):
            saved.forget(s, actor=p["bob"], ws=ws, query_id=kept.id)
        saved.forget(s, actor=p["alice"], ws=ws, query_id=kept.id)
        assert saved.list_saved(s, ws) == []


@SQLITE_ONLY
def test_the_console_keeps_opens_and_forgets_a_query(ready):
    platform, p, _permit, ws_id, _done = ready
    alice, = _clients(platform, "alice@labo.example")
    sql = "SELECT count(*) AS n FROM ER_PRS_F"
    kept = _post(alice, f"/workspaces/{ws_id}/queries/keep", {"sql": sql, "query_name": "Soins 2023"})
    assert kept.status_code == 200 and 'id="kept-now"' in kept.text
    page = alice.get(f"/workspaces/{ws_id}").text
    query_id = re.search(r'href="/workspaces/\d+\?query_id=(\d+)#sql"', page).group(1)
    opened = alice.get(f"/workspaces/{ws_id}?query_id={query_id}").text
    assert f'<textarea id="sql" name="sql" rows="8" aria-label="SQL" spellcheck="false">{sql}</textarea>' in opened
    refused = _post(alice, f"/workspaces/{ws_id}/queries/keep", {"sql": sql, "query_name": "../x"})
    assert refused.status_code == 422 and 'id="query_name" name="query_name" type="text" value="../x" aria-invalid' \
        in refused.text and sql in refused.text  # nothing typed is lost
    assert '<p class="field-error" id="e_query_name">Le nom d&#39;une requête a 1 à 100 lettres' in refused.text
    forgot = _post(alice, f"/workspaces/{ws_id}/queries/{query_id}/forget", {})
    assert forgot.status_code == 303
    with platform.db.unit_of_work() as s:
        assert saved.list_saved(s, workspaces.get_workspace(s, ws_id)) == []


def test_a_name_another_person_keeps_is_not_taken_over(world):
    """Alice and Bob both named on the permit: each sees the other's queries, neither takes over
    or forgets the other's."""
    platform, p = world
    permit_id = _granted(platform, p, {**NAMED, "persons": ["alice@labo.example", "bob@labo.example"]})
    done = workspaces.provision(platform, actor=operator_actor(), permit_id=permit_id)
    with platform.db.unit_of_work() as s:
        ws = next(w for w in workspaces.list_workspaces(s) if w.reference == done.workspace)
        theirs = saved.keep(s, actor=p["alice"], ws=ws, name="cohorte", sql="SELECT 1")
        with pytest.raises(Conflict, match="choose another name"):
            saved.keep(s, actor=p["bob"], ws=ws, name="cohorte", sql="SELECT 2")
        with pytest.raises(Forbidden, match="forgets only their own"):
            saved.forget(s, actor=p["bob"], ws=ws, query_id=theirs.id)
        saved.keep(s, actor=p["bob"], ws=ws, name="cohorte (Bob)", sql="SELECT 2")
        assert [(q.name, q.author) for q in saved.list_saved(s, ws)] == [
            ("cohorte", "user:alice@labo.example"), ("cohorte (Bob)", "user:bob@labo.example")]


@SQLITE_ONLY
def test_the_api_offers_the_schema_and_the_kept_queries(ready):
    platform, _p, _permit, ws_id, _done = ready
    alice, = _clients(platform, "alice@labo.example")
    tables = {t["name"]: t for t in alice.get(f"/api/workspaces/{ws_id}/schema").json()}
    assert set(tables) == {"IR_BEN_R", "ER_PRS_F"} and tables["ER_PRS_F"]["link"] == "person"
    sex = next(c for c in tables["IR_BEN_R"]["columns"] if c["name"] == "BEN_SEX_COD")
    assert sex == {"name": "BEN_SEX_COD", "type": "integer", "description": "Code sexe du bénéficiaire",
                   "nomenclature": sex["nomenclature"]} and sex["nomenclature"].startswith("IR_SEX_V")
    made = alice.post(f"/api/workspaces/{ws_id}/kept-queries", json={"name": "n", "sql": "SELECT 1"})
    assert made.status_code == 201 and made.json()["author"] == "user:alice@labo.example"
    assert [q["name"] for q in alice.get(f"/api/workspaces/{ws_id}/kept-queries").json()] == ["n"]
    assert alice.delete(f"/api/workspaces/{ws_id}/kept-queries/{made.json()['id']}").status_code == 204
    assert alice.get(f"/api/workspaces/{ws_id}/kept-queries").json() == []

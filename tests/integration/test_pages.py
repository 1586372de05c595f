"""The HTML pages through HTTP forms (the browser tests cover the main path in chromium):
calls for projects, languages, sign-in redirects, errors as pages."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest

from bastide.server import create_app
from bastide.web.forms import fields_from_form
from tests.portal import client_for, person
from tests.unit.test_application_form import FULL


@pytest.fixture(params=["sqlite", "postgresql"])
def site(request, tmp_path, tiny_delivery):
    from tests.conftest import _copied_world

    platform, _ = _copied_world(request, f"{request.param}+local", tiny_delivery, tmp_path, people=False)
    app = create_app(platform)
    ines = person(app, platform, email="ines@hdh.example", org="HDH", sector="public", roles={"instructor"})
    alice = person(app, platform, email="alice@labo.example", org="Labo", sector="private", roles={"researcher"})
    yield app, ines, alice
    platform.close()


def _form(client, path, data):
    return client.post(path, data={**data, "csrf_token": client.headers["X-CSRF-Token"]})


def test_a_call_from_creation_to_selection_through_the_pages(site):
    app, ines, alice = site
    today = date.today()
    created = _form(ines, "/calls", {"title": "Cancers pédiatriques", "theme": "oncologie", "description": "",
                                     "opens_on": str(today), "closes_on": str(today + timedelta(days=30)),
                                     "criteria": "science: 2\nimpact"})
    assert created.status_code == 303
    call_url = created.headers["location"]
    call_id = int(call_url.rsplit("/", 1)[1])
    page = client_for(app).get(call_url)  # public
    assert "Cancers pédiatriques" in page.text and "science (× 2.0)" in page.text and "ranking" not in page.text

    new = _form(alice, "/applications", {"title": "Leucémies", "procedure": "MR-004", "call_id": str(call_id)})
    app_id = int(new.headers["location"].rsplit("/", 1)[1])
    alice.patch(f"/api/applications/{app_id}", json={"changes": FULL})
    assert alice.post(f"/api/applications/{app_id}/actions/submit", json={}).json()["call_id"] == call_id

    scored = _form(ines, f"/calls/{call_id}/scores", {f"score:{app_id}:science": "4", f"score:{app_id}:impact": "1"})
    assert scored.status_code == 303
    ranking = ines.get(call_url)
    assert 'id="ranking"' in ranking.text and "3.00 (1)" in ranking.text  # (4 × 2 + 1) / 3
    bad = _form(ines, f"/calls/{call_id}/scores", {"score:999:science": "4"})
    assert bad.status_code == 422 and bad.headers["x-error-code"] == "not_a_score"
    selected = ines.post(f"/calls/{call_id}/selection",
                         data={"selected": str(app_id), "csrf_token": ines.headers["X-CSRF-Token"]})
    assert selected.status_code == 303
    assert alice.get(f"/api/applications/{app_id}").json()["status"] == "pre_screening"


def test_pages_speak_french_and_english(site):
    """SOV-10: the interface exists in French (and in English)."""
    app, _, _ = site
    anonymous = client_for(app)
    assert "<h1>Registre public</h1>" in anonymous.get("/register").text
    english = anonymous.get("/register?lang=en")
    assert "<h1>Public register</h1>" in english.text and english.cookies.get("lang") == "en"
    assert "<h1>Public register</h1>" in anonymous.get("/register").text  # the choice is remembered
    assert "Calls for projects" in client_for(app).get("/calls", headers={"Accept-Language": "en-GB"}).text


def test_switching_language_keeps_the_page_even_after_a_form_was_posted(site):
    """Issue 18, item 10: the switch was `?lang=` on the current address, a 405 (in JSON) when the
    page was the answer to a POST. It now goes back to the page the form was posted from."""
    app, _, _ = site
    anonymous = client_for(app)
    refused = anonymous.post("/login", data={"email": "a@b.example", "password": "x", "code": "1", "next": "/queue"},
                             headers={"Referer": "https://testserver/login?next=/queue"})
    switch = re.search(r'id="switch-language" href="([^"]+)"', refused.text).group(1)
    assert switch == "/lang/en?next=/login%3Fnext%3D/queue"
    back = anonymous.get(switch)
    assert back.status_code == 303 and back.headers["location"] == "/login?next=/queue"
    assert back.cookies.get("lang") == "en" and "Sign in" in anonymous.get(back.headers["location"]).text
    page = anonymous.get("/register?lang=fr&x=1")  # a page asked for in a language: the switch drops that choice
    assert 'href="/lang/en?next=/register%3Flang%3Dfr%26x%3D1"' in page.text
    assert anonymous.get("/lang/en?next=/register%3Flang%3Dfr%26x%3D1").headers["location"] == "/register?x=1"
    elsewhere = anonymous.post("/login", data={"email": "a@b.example", "password": "x", "code": "1"},
                               headers={"Referer": "https://evil.example/phish"})
    assert 'href="/lang/fr?next=/home"' in elsewhere.text  # (now in English) never back to another site
    assert anonymous.get("/lang/en?next=//evil.example/").headers["location"] == "/home"
    assert anonymous.get("/lang/xx").status_code == 422


def test_signed_out_visits_go_to_the_sign_in_page_and_errors_are_pages(site):
    app, ines, alice = site
    redirect = client_for(app).get("/queue")
    assert redirect.status_code == 303 and redirect.headers["location"] == "/login?next=/queue"
    forbidden = alice.get("/queue")
    assert forbidden.status_code == 403 and forbidden.headers["x-error-code"] == "forbidden"
    assert "<h1>Erreur</h1>" in forbidden.text and "ne permet pas cette action" in forbidden.text
    assert "may not" not in forbidden.text  # the English detail (`user:… may not …`) stays for the API
    alice.headers.pop("X-CSRF-Token")  # a form posted from another site carries no token
    no_csrf = alice.post("/applications", data={"title": "x", "procedure": "standard"})
    assert no_csrf.status_code == 403 and no_csrf.headers["x-error-code"] == "csrf_failed"
    wrong = client_for(app).post("/login", data={"email": "alice@labo.example", "password": "nope", "code": "1"})
    assert wrong.status_code == 401 and "wrong" in wrong.text
    assert "Vous n'avez pas ce droit" in forbidden.text  # the kind of error in words, then what happened
    missing = alice.get("/applications/999999")  # issue 18, item 4: what is missing or refused, in French too
    assert missing.status_code == 404 and "existe pas, ou plus" in missing.text and "no application" not in missing.text
    language = client_for(app).get("/lang/xx")
    assert language.status_code == 422 and "une de ces valeurs : fr, en" in language.text


def test_statuses_history_and_purposes_are_words_in_each_language(site):
    """Issue 18, item 4: a status was shown as its code (`pre_screening`), the history as audit
    actions (`application:create`), a purpose in English on the French page."""
    _app, _ines, alice = site
    new = _form(alice, "/applications", {"title": "Statines", "procedure": "standard"})
    alice.patch(f"/api/applications/{new.headers['location'].rsplit('/', 1)[1]}", json={"changes": FULL})
    french = alice.get(new.headers["location"])
    assert 'id="status" data-state="draft">brouillon<' in french.text
    assert '<td data-event="application:create">demande créée</td>' in french.text
    assert "recherche scientifique liée à la santé ou aux soins" in french.text
    assert "application:create" not in re.sub(r'data-[a-z]+="[^"]*"', "", french.text)
    english = alice.get(new.headers["location"] + "?lang=en")
    assert 'data-state="draft">draft<' in english.text and ">application created<" in english.text


def test_a_decision_that_cannot_be_undone_is_asked_once_more(site):
    """Issue 18, item 3: withdrawing (like granting or refusing) shows what follows and needs a
    second, explicit post; the application is untouched until then."""
    _app, _ines, alice = site
    new = _form(alice, "/applications", {"title": "Statines", "procedure": "standard"})
    app_id = new.headers["location"].rsplit("/", 1)[1]
    alice.patch(f"/api/applications/{app_id}", json={"changes": FULL})
    assert alice.post(f"/api/applications/{app_id}/actions/submit", json={}).status_code == 200
    asked = _form(alice, f"/applications/{app_id}/act", {"action": "withdraw", "justification": "projet abandonné"})
    assert asked.status_code == 200 and 'id="consequence"' in asked.text and "projet abandonné" in asked.text
    assert '<input type="hidden" name="action" value="withdraw">' in asked.text
    assert alice.get(f"/api/applications/{app_id}").json()["status"] == "submitted"  # nothing happened yet
    done = _form(alice, f"/applications/{app_id}/act", {"action": "withdraw", "justification": "projet abandonné",
                                                       "confirmed": "yes"})
    assert done.status_code == 303 and alice.get(f"/api/applications/{app_id}").json()["status"] == "withdrawn"
    refused = _form(alice, f"/applications/{app_id}/act", {"action": "withdraw"})  # not asked: it cannot be done
    assert refused.status_code == 409 and 'id="consequence"' not in refused.text


def test_the_style_sheet_is_a_file_and_nothing_else_is_served_beside_it(site):
    """Issue 18, item 11: styles in a static file (the policy allows no inline style); only the
    files of web/static are served, by exact name."""
    app, _, _ = site
    anonymous = client_for(app)
    sheet = anonymous.get("/static/bastide.css")
    assert sheet.status_code == 200 and sheet.headers["content-type"].startswith("text/css")
    assert sheet.headers["x-egress-rule"] == "public" and "@media" in sheet.text
    page = anonymous.get("/register")
    assert '<link rel="stylesheet" href="/static/bastide.css">' in page.text and "<style" not in page.text
    policy = page.headers["content-security-policy"]
    assert "style-src 'self';" in policy and "unsafe-inline" not in policy and "sha256-" not in policy
    for name in ("nope.css", "..%2Fpages.py", "%2E%2E", "bastide.css%00"):
        assert anonymous.get(f"/static/{name}").status_code == 404, name


def test_nothing_typed_is_lost_and_each_error_shows_beside_its_field(site):
    """Issue 18, item 3: an invalid value sent the person to an error page and every other field
    was lost; "Submit" sat above the form and discarded what was not saved."""
    _app, _ines, alice = site
    new = _form(alice, "/applications", {"title": "Statines", "procedure": "standard"})
    url = new.headers["location"]
    page = alice.get(url).text
    assert 'name="action" value="submit"' not in page  # not above the form any more…
    assert 'name="then" value="submit"' in page  # …but at its end, saving first
    refused = _form(alice, f"{url}/form", {"use": "étude de cohorte", "years": "deux mille", "tables": "IR_BEN_R"})
    assert refused.status_code == 422
    assert "étude de cohorte" in refused.text and 'value="IR_BEN_R"' in refused.text and 'value="deux mille"' in refused.text
    assert re.search(r'id="f_years"[^>]*aria-invalid="true" aria-describedby="e_years"', refused.text)
    assert '<p class="field-error" id="e_years">Les années s&#39;écrivent 2023 2024.</p>' in refused.text  # in French
    sent = _form(alice, f"{url}/form", {"use": "étude de cohorte", "tables": "IR_BEN_R", "then": "submit"})
    assert sent.status_code == 422  # the application lacks most of its elements (GOV-01)…
    assert 'id="e_persons"' in sent.text and 'id="e_use"' not in sent.text and "étude de cohorte" in sent.text
    assert "étude de cohorte" in alice.get(url).text  # …and what was typed was saved before the refusal
    done = _form(alice, f"{url}/form", {**fields_from_form(FULL), "then": "submit"})
    assert done.status_code == 303, re.findall(r'class="field-error"[^>]*>([^<]*)', done.text)
    assert 'data-state="submitted"' in alice.get(url).text


def test_the_account_form_keeps_what_was_typed_when_a_role_pair_is_refused(site):
    app, _ines, _alice = site
    ada = person(app, app.state.platform, email="ada@hdh.example", org="HDH", sector="public",
                 roles={"administrator"})
    refused = _form(ada, "/admin/users", {"email": "bob@labo.example", "name": "Bob", "organisation": "Labo",
                                          "sector": "private", "roles": ["researcher", "output_checker"],
                                          "end_of_rights": "2030-12-31"})
    assert refused.status_code == 422 and "(séparation des tâches, IAM-07)" in refused.text
    assert "Une même personne ne peut tenir à la fois ces rôles" in refused.text
    assert 'value="bob@labo.example"' in refused.text and 'value="2030-12-31"' in refused.text
    assert re.search(r'value="output_checker" checked', refused.text) and 'id="e_roles"' in refused.text
    assert "Contrôleur des sorties" in refused.text  # roles in words, not `output_checker`
    past = _form(ada, "/admin/users", {"email": "bob@labo.example", "name": "Bob", "organisation": "Labo",
                                       "sector": "private", "roles": ["researcher"], "end_of_rights": "2020-12-31"})
    assert past.status_code == 422 and 'id="e_end_of_rights">La date de fin des droits doit être à venir' in past.text


def test_an_administrator_manages_accounts_from_the_page(site):
    """Issue 18, item 10: unlock, disable (asked once more), enable, a new link, a reset — under
    the rules of the API (the last administrator stays enabled; a reset's link goes to the person)."""
    app, _ines, alice = site
    platform = app.state.platform
    ada = person(app, platform, email="ada@hdh.example", org="HDH", sector="public", roles={"administrator"})
    page = ada.get("/admin/users").text
    assert 'action="/admin/users/alice%40labo.example/act"' in page and "Déverrouiller" in page
    asked = _form(ada, "/admin/users/alice%40labo.example/act", {"action": "disable", "reason": "a quitté le labo"})
    assert asked.status_code == 200 and 'id="consequence"' in asked.text and "a quitté le labo" in asked.text
    disabled = _form(ada, "/admin/users/alice%40labo.example/act", {"action": "disable", "reason": "a quitté le labo",
                                                                     "confirmed": "yes"})
    assert 'id="account-done"' in disabled.text
    row = re.search(r"<tr[^>]*><td>alice@labo.example</td>(.*?)</tr>", disabled.text, re.DOTALL).group(1)
    assert 'data-state="disabled"' in row
    assert alice.get("/home").status_code in (303, 401, 403)  # her session ended with her access
    enabled = _form(ada, "/admin/users/alice%40labo.example/act", {"action": "enable"})
    assert 'data-state="active"' in re.search(r"<tr[^>]*><td>alice@labo.example</td>(.*?)</tr>", enabled.text,
                                              re.DOTALL).group(1)
    last = _form(ada, "/admin/users/ada%40hdh.example/act", {"action": "disable", "confirmed": "yes"})
    assert last.status_code == 409 and "le dernier administrateur actif" in last.text  # said in French
    reset = _form(ada, "/admin/users/alice%40labo.example/act", {"action": "reset_mfa", "confirmed": "yes"})
    assert 'id="account-done"' in reset.text and "/activate/" not in reset.text  # the link went to alice only
    assert any("/activate/" in f.read_text() for f in (platform.settings.home / "outbox").glob("*.eml"))
    unknown = _form(ada, "/admin/users/alice%40labo.example/act", {"action": "promote"})
    assert unknown.status_code == 422

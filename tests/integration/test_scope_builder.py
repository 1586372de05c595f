"""The data scope built from the dictionary (issue 18, items 1 and 2), through the pages' forms:
the release chosen from a list, tables and each table's variables ticked, what is wrong or
doubtful shown beside the fields before submitting, the extract's shape from the catalogue's
counts, codes looked up, and the dictionary's "add to my application"."""

from __future__ import annotations

import html
import re

from bastide.governance import service as gov
from bastide.web.forms import fields_from_form
from tests.integration.test_pages import site  # noqa: F401 - the pages' world, on SQLite and PostgreSQL
from tests.portal import client_for, person
from tests.unit.test_application_form import FULL


def _post(client, path, data):
    return client.post(path, data={**data, "csrf_token": client.headers["X-CSRF-Token"]})


def _draft(client, title="Diabète et statines") -> str:
    return _post(client, "/applications", {"title": title, "procedure": "standard"}).headers["location"]


def _full(icd10: str, table: str, variable: str) -> dict:
    """The whole application form as the page sends it, with its scope ticked in the builder."""
    fields = {k: v for k, v in fields_from_form(FULL).items() if k not in ("tables", "columns")}
    return {**fields, "icd10": icd10, "scope": "1", "scope_table": [table], f"scope_var:{table}": [variable]}


def _form_of(platform, url) -> dict:
    with platform.db.unit_of_work() as session:
        return gov.get_application(session, int(url.rsplit("/", 1)[1])).form


def _said(page: str, rule: str) -> str:
    found = re.search(rf'data-rule="{rule}">([^<]*)<', page)
    return html.unescape(found.group(1)) if found else ""


def test_the_release_is_chosen_then_its_tables_and_variables_are_ticked(site):
    app, _ines, alice = site
    platform = app.state.platform
    url = _draft(alice)
    first = alice.get(url).text
    assert '<option value="snds@2024-12">snds@2024-12</option>' in first and 'id="scope"' not in first
    _post(alice, f"{url}/form", {"snapshot": "snds@2024-12"})
    page = alice.get(url).text
    assert 'id="scope"' in page and 'name="scope_table" value="ER_PHA_F"' in page
    assert 'name="scope_var:ER_PHA_F" value="PHA_PRS_C13"' in page and 'id="f_tables"' not in page

    saved = _post(alice, f"{url}/form", {"snapshot": "snds@2024-12", "years": "2023", "icd10": "E11", "scope": "1",
                                         "scope_table": ["ER_PHA_F", "IR_BEN_R"],
                                         "scope_var:ER_PHA_F": ["PHA_PRS_C13", "PHA_ACT_QSN"]})
    assert saved.status_code == 303
    data = _form_of(platform, url)["data"]
    assert data["tables"] == ["ER_PHA_F", "IR_BEN_R"] and data["columns"] == {"ER_PHA_F": ["PHA_ACT_QSN", "PHA_PRS_C13"]}
    assert data["population"] == {"icd10": ["E11"]}

    page = alice.get(url).text  # ticked as saved, and what is doubtful said before submitting
    assert re.search(r'name="scope_table" value="ER_PHA_F" checked', page)
    assert re.search(r'name="scope_var:ER_PHA_F" value="PHA_PRS_C13" checked', page)
    assert not re.search(r'name="scope_var:ER_PHA_F" value="PHA_DEC_TOP" checked', page)
    assert _said(page, "unlinked") == ("ER_PHA_F ne rejoignent une personne que par ER_PRS_F, non demandée : sans "
                                       "elle, leurs lignes ne se rattachent à personne.")
    assert _said(page, "no_atc").startswith("ER_PHA_F donne les médicaments par code CIP : ajoutez IR_PHA_R")
    assert "<code>E11</code> Diabète sucré de type 2" in page  # the code's label, from IR_CIM_V
    assert 'href="/dictionary/nomenclatures/IR_CIM_V"' in page


def test_the_extracts_shape_comes_from_the_catalogues_counts(site):
    """ER_PHA_F has 23 variables in schema-snds: 2 ticked are "2 / 23"; its rows are the catalogue's
    count for the whole release (an upper bound, said so)."""
    app, _ines, alice = site
    platform = app.state.platform
    url = _draft(alice)
    _post(alice, f"{url}/form", {"snapshot": "snds@2024-12", "scope": "1", "scope_table": ["ER_PHA_F"],
                                 "scope_var:ER_PHA_F": ["PHA_PRS_C13", "PHA_ACT_QSN"]})
    with platform.db.unit_of_work() as session:
        from bastide.catalogue import service as catalogue
        rows = next(t.rows for t in catalogue.get_snapshot(session, "snds@2024-12").tables if t.name == "ER_PHA_F")
    page = alice.get(url).text
    shape = page[page.index('id="shape"'):]
    row = re.search(r"<tr><td><code>ER_PHA_F</code></td><td>DCIR</td><td class=\"num\">([^<]*)</td>"
                    r"<td class=\"num\">([^<]*)</td>", shape)
    assert row and row.group(1).replace(" ", "") == str(rows) and row.group(2) == "2 / 23"


def test_an_unknown_code_or_variable_stops_the_submission_and_is_said_beside_its_field(site):
    """IR_CIM_V has no U99 (its U codes run U04…U90); ER_PRS_F has no PHA_ATC_C07 (IR_PHA_R has)."""
    app, _ines, alice = site
    platform = app.state.platform
    url = _draft(alice)
    fields = _full("E11 U99", "ER_PRS_F", "PRS_NAT_REF")
    sent = _post(alice, f"{url}/form", {**fields, "then": "submit"})
    assert sent.status_code == 422
    assert re.search(r'id="f_icd10"[^>]*aria-invalid="true"', sent.text)
    assert "Aucun code de IR_CIM_V ne commence par U99." in html.unescape(sent.text)
    top = re.search(r'<div class="error"[^>]*>(.*?)</div>', sent.text, re.DOTALL).group(1)
    assert html.unescape(top).endswith("Aucun code de IR_CIM_V ne commence par U99.")  # the error, in French too
    assert re.search(r'name="scope_var:ER_PRS_F" value="PRS_NAT_REF" checked', sent.text)  # nothing ticked is lost
    assert _form_of(platform, url)["data"]["columns"] == {"ER_PRS_F": ["PRS_NAT_REF"]}  # saved before the refusal

    api = alice.patch(f"/api/applications/{url.rsplit('/', 1)[1]}", json={"changes": {"data": {
        **FULL["data"], "columns": {"ER_PRS_F": ["PHA_ATC_C07"]}}}})
    assert api.status_code == 200
    refused = alice.post(f"/api/applications/{url.rsplit('/', 1)[1]}/actions/submit", json={})
    assert refused.status_code == 422 and refused.json()["error"]["details"]["rule"] == "unknown_variable"
    assert refused.json()["error"]["message"] == "ER_PRS_F has no variable PHA_ATC_C07"

    fixed = _post(alice, f"{url}/form", {**fields, "icd10": "E11", "then": "submit"})
    assert fixed.status_code == 303
    assert 'data-state="submitted"' in alice.get(url).text


def test_the_problems_are_worded_in_english_too(site):
    _app, _ines, alice = site
    url = _draft(alice)
    _post(alice, f"{url}/form", {"snapshot": "snds@2024-12", "scope": "1", "scope_table": ["T_MCOaaB"]})
    page = alice.get(f"{url}?lang=en").text
    assert _said(page, "unlinked") == ("T_MCOaaB meet a person only through T_MCOaaC, not asked for: without it, their "
                                       "rows belong to no one.")
    assert _said(page, "no_criterion") == "No population criterion: the extract will hold everyone of the years asked."
    assert "Tables and variables" in page and "Shape of the extract" in page


def test_the_dictionary_adds_a_table_and_its_ticked_variables_to_an_application(site):
    app, _ines, alice = site
    platform = app.state.platform
    bob = person(app, platform, email="bob@labo.example", org="Labo", sector="private", roles={"researcher"})
    table = "/dictionary/snds@2024-12/ER_PHA_F"
    assert 'id="basket"' not in client_for(app).get(table).text  # nobody signed in: nothing to add to
    assert 'id="basket"' not in alice.get(table).text  # no application under way yet
    url = _draft(alice)
    page = alice.get(table).text
    assert 'id="basket"' in page and f'<option value="{url.rsplit("/", 1)[1]}">' in page
    assert 'form="basket" name="variable" value="PHA_PRS_C13"' in page

    added = _post(alice, "/applications/scope", {"application": url.rsplit("/", 1)[1], "release": "snds@2024-12",
                                                 "table": "ER_PHA_F", "variable": ["PHA_PRS_C13"]})
    assert added.status_code == 303 and added.headers["location"] == f"{url}#scope"
    _post(alice, "/applications/scope", {"application": url.rsplit("/", 1)[1], "release": "snds@2024-12",
                                         "table": "ER_PRS_F"})
    data = _form_of(platform, url)["data"]
    assert data["snapshot"] == "snds@2024-12" and data["tables"] == ["ER_PHA_F", "ER_PRS_F"]
    assert data["columns"] == {"ER_PHA_F": ["PHA_PRS_C13"]}  # ER_PRS_F with none ticked: every column
    assert re.search(r'name="scope_table" value="ER_PRS_F" checked', alice.get(url).text)

    theirs = _post(bob, "/applications/scope", {"application": url.rsplit("/", 1)[1], "release": "snds@2024-12",
                                               "table": "IR_BEN_R"})
    assert theirs.status_code == 403  # only the applicant changes their application
    unknown = _post(alice, "/applications/scope", {"application": url.rsplit("/", 1)[1], "release": "snds@2024-12",
                                                  "table": "ER_PHA_F", "variable": ["NOPE"]})
    assert unknown.status_code == 422 and "ER_PHA_F n&#39;a pas de variable NOPE." in unknown.text  # in French
    assert _form_of(platform, url)["data"]["tables"] == ["ER_PHA_F", "ER_PRS_F"]  # nothing half-written


def test_codes_are_picked_in_the_nomenclature_and_join_the_criterion(site):
    """A code picker without script: the ICD-10 list (IR_CIM_V) searched for diabetes offers its
    codes to tick (E11, type 2 diabetes, among them) and adds them to the application's ICD-10
    criterion, after those already there; the ATC classes of IR_CIP_V are not offered (its codes
    are CIP codes)."""
    app, _ines, alice = site
    platform = app.state.platform
    url = _draft(alice)
    _post(alice, f"{url}/form", {"icd10": "I10"})
    page = alice.get("/dictionary/nomenclatures/IR_CIM_V?q=diab%C3%A8te%20sucr%C3%A9%20de%20type%202").text
    assert 'id="picker"' in page and 'form="picker" name="code" value="E11"' in page
    assert 'id="picker"' not in alice.get("/dictionary/nomenclatures/IR_CIP_V").text
    assert 'id="picker"' not in client_for(app).get("/dictionary/nomenclatures/IR_CIM_V").text
    added = _post(alice, "/applications/codes", {"application": url.rsplit("/", 1)[1], "criterion": "icd10",
                                                 "code": ["E11", "E11.9", "I10"]})
    assert added.status_code == 303 and added.headers["location"] == f"{url}#f_icd10"
    assert _form_of(platform, url)["data"]["population"]["icd10"] == ["I10", "E11", "E119"]
    assert _post(alice, "/applications/codes", {"application": url.rsplit("/", 1)[1], "criterion": "atc",
                                                "code": ["A10"]}).status_code == 422


def test_the_decision_screen_shows_the_scope_doubts_and_the_extracts_shape(site):
    """The instructor judges minimisation with what the applicant saw: the extract's shape from
    the catalogue's counts and the scope's warnings (ER_PHA_F asked without ER_PRS_F)."""
    app, ines, alice = site
    url = _draft(alice)
    sent = _post(alice, f"{url}/form", {**_full("E11", "ER_PHA_F", "PHA_PRS_C13"), "then": "submit"})
    assert sent.status_code == 303
    page = ines.get(f"{url}/decision").text
    assert 'id="scope-problems"' in page and 'data-rule="unlinked"' in page
    assert 'id="shape"' in page and "<td><code>ER_PHA_F</code></td>" in page

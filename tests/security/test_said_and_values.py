"""Two ways in that issue 18's wording and dictionary opened, each closed (rule 1: the user is
hostile). An error's words are the catalogue's, with what the person typed put in as text: a typed
value is escaped and never read as a format. The public dictionary's values are aggregates: no
person's identifier is kept with a folder nor shown to anyone."""

from __future__ import annotations

import json

from bastide.catalogue.models import SnapshotSource
from tests.integration.test_pages import site  # noqa: F401 - the pages' world, on SQLite and PostgreSQL
from tests.integration.test_scope_builder import _draft, _post
from tests.integration.test_workspaces import _snapshot_table
from tests.portal import client_for

SCRIPT = '<script>alert("x")</script>'


def test_what_a_person_typed_is_put_into_an_errors_words_as_text(site):
    _app, _ines, alice = site
    url = _draft(alice)
    for typed in (SCRIPT, "%(table)s %s %"):  # markup, and format directives the catalogue's text must not read
        refused = _post(alice, "/applications/scope", {"application": url.rsplit("/", 1)[1], "release": "snds@2024-12",
                                                       "table": "ER_PHA_F", "variable": [typed]})
        assert refused.status_code == 422 and "ER_PHA_F n&#39;a pas de variable" in refused.text
        assert "<script>alert" not in refused.text
    assert "%(table)s %s %" in refused.text  # shown as typed, not formatted


def test_no_persons_identifier_is_kept_with_a_folder_or_shown_in_the_dictionary(site):
    app, _ines, _alice = site
    platform = app.state.platform
    ben = _snapshot_table(platform, "IR_BEN_R")
    persons = {str(v) for c in ("BEN_NIR_PSA", "BEN_IDT_ANO") for v in ben[c].to_pylist() if v}
    assert len(persons) > 10
    with platform.db.unit_of_work() as s:
        kept = json.dumps([src.profile for src in s.query(SnapshotSource).all()])
    public = client_for(app)
    shown = [public.get("/dictionary/snds@2024-12/IR_BEN_R").text,
             public.get("/api/catalogue/datasets/snds/snapshots/2024-12/tables/IR_BEN_R").text]
    for text in (kept, *shown):
        assert not [p for p in persons if p in text]
    assert "BEN_SEX_COD" in kept  # the profile is there, with the codes of a nomenclature only

"""The decision screen (issue 18, item 6; GOV-06): each Art. 68(1) criterion and Art. 68(2) risk
in words, what the applicant wrote for it beside it, recorded from the page; a permit refused
while one is unfavourable (Art. 68(3))."""

from __future__ import annotations

import html
import re

from tests.integration.test_pages import site  # noqa: F401 - the pages' world, on SQLite and PostgreSQL
from tests.integration.test_scope_builder import _draft, _full, _post

ITEMS = ("a", "b", "c", "d", "e", "f", "g", "h", "risk_a", "risk_b")


def _block(page: str, item: str) -> str:
    found = re.search(rf'<fieldset class="criterion" id="criterion-{item}">(.*?)</fieldset>', page, re.S)
    assert found, item
    return html.unescape(found.group(1))


def _under_instruction(ines, alice) -> str:
    url = _draft(alice)
    assert _post(alice, f"{url}/form", {**_full("E11", "ER_PRS_F", "PRS_NAT_REF"), "then": "submit"}).status_code == 303
    for action in ("screen", "accept"):
        assert _post(ines, f"{url}/act", {"action": action}).status_code == 303
    return url


def test_each_criterion_in_words_with_what_the_applicant_wrote_beside_it(site):
    app, ines, alice = site
    url = _under_instruction(ines, alice)
    page = ines.get(f"{url}/decision").text
    assert [m for m in re.findall(r'id="criterion-([a-z_]+)"', page)] == list(ITEMS)
    c = _block(page, "c")  # 68(1)(c): the GDPR basis and why pseudonymised data (FULL's answers)
    assert "68(1)(c) — Le traitement a une base légale" in c
    assert "linkage over time" in c and "Art. 6(1)(e)" in c and "<dd>oui</dd>" in c  # yes/no in words
    a = _block(page, "a")
    assert "e) recherche scientifique" in a.lower() and "cohort study" in a  # the purpose by its label
    assert "Apprécié sur l'ensemble de la demande." in _block(page, "h")
    assert "68(2)(a) — Risques pour la défense nationale" in _block(page, "risk_a")
    assert "atténué ou absent" in _block(page, "risk_b")
    assert 'href="https://eur-lex.europa.eu/eli/reg/2025/327/oj"' in page  # the authority, beside the summaries

    english = ines.get(f"{url}/decision?lang=en").text
    assert "68(1)(c) — The processing has a legal basis under GDPR Art. 6(1)" in _block(english, "c")
    assert "<dd>yes</dd>" in _block(english, "c")


def test_a_risk_not_mitigated_keeps_the_permit_from_being_granted(site):
    app, ines, alice = site
    url = _under_instruction(ines, alice)
    marks = {f"met_{item}": "yes" for item in ITEMS} | {"met_risk_b": "no", "note_risk_b": "base ANSM"}
    assert _post(ines, f"{url}/assess", marks).status_code == 303
    page = ines.get(f"{url}/decision").text
    assert 'name="met_risk_b" value="no" checked' in page and 'value="base ANSM"' in page
    refused = _post(ines, f"{url}/act", {"action": "grant", "confirmed": "yes"})
    assert refused.headers["X-Error-Code"] == "assessment_unfavourable"
    assert "risk_b : non rempli ou non atténué. Un permis n&#39;est délivré que si" in refused.text  # in French
    assert 'data-state="processing"' in refused.text

"""What the access body weighs before a permit (GOV-06, EHDS Art. 68(1)–(3)): eight criteria,
two risks, each recorded before deciding; a permit only when all are favourable."""

from __future__ import annotations

import pytest

from bastide.errors import InvalidInput
from bastide.governance import criteria
from bastide.governance.form import FIELDS

EVERY = ("a", "b", "c", "d", "e", "f", "g", "h", "risk_a", "risk_b")  # Art. 68(1)(a)–(h), Art. 68(2)(a)–(b)


def favourable(**against) -> dict:
    return {item: {"met": item not in against, "note": ""} for item in EVERY}


def test_the_items_are_the_eight_criteria_and_the_two_risks():
    assert criteria.ITEMS == EVERY


@pytest.mark.parametrize("item", EVERY)
def test_a_decision_waits_for_each_item(item):
    assessment = favourable()
    del assessment[item]
    with pytest.raises(InvalidInput) as exc:
        criteria.check_decidable(assessment)
    assert exc.value.code == "assessment_incomplete" and exc.value.details["missing"] == [item]


def test_every_item_recorded_and_favourable_allows_the_permit():
    criteria.check_decidable(favourable())  # raises nothing


def test_a_criterion_not_met_or_a_risk_not_mitigated_forbids_the_permit():
    with pytest.raises(InvalidInput, match=r"c, risk_a recorded as not met") as exc:
        criteria.check_decidable(favourable(c=True, risk_a=True))
    assert exc.value.code == "assessment_unfavourable" and exc.value.details["against"] == ["c", "risk_a"]


def test_the_missing_are_named_before_the_unfavourable():
    assessment = favourable(b=True)
    del assessment["h"]
    with pytest.raises(InvalidInput, match="before deciding"):
        criteria.check_decidable(assessment)


@pytest.mark.parametrize("item", ["i", "A", "68(1)(a)", "risk_c", ""])
def test_only_the_articles_items_are_recorded(item):
    with pytest.raises(InvalidInput) as refused:
        criteria.check_item(item)
    assert refused.value.code == "not_a_choice" and refused.value.details["choices"][:2] == ["a", "b"]
    assert refused.value.details["choices"][-2:] == ["risk_a", "risk_b"]  # Art. 68(2)


def test_each_item_is_weighed_against_fields_the_application_has():
    """The decision screen shows, beside each item, what the applicant wrote for it."""
    named = {name for fields in (*criteria.CRITERIA.values(), *criteria.RISKS.values()) for name in fields}
    assert named <= set(FIELDS)
    assert "pseudonymisation_justification" in criteria.CRITERIA["c"]  # Art. 66(3) refers to 68(1)(c)
    assert criteria.CRITERIA["g"] == ("optout_exception",)  # Art. 71(4)
    assert criteria.CRITERIA["h"] == ()  # the whole file

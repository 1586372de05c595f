"""The application form between HTML fields and the Art. 67 structure (GOV-01, GOV-05)."""

import pytest

from bastide.errors import InvalidInput
from bastide.web.forms import fields_from_form, form_from_fields
from tests.unit.test_application_form import FULL


def test_fields_become_the_structured_scope():
    form = form_from_fields({"persons": "a@x.example\n\n b@x.example ", "tables": "ER_PRS_F, IR_BEN_R",
                             "years": "2023 2024", "icd10": "E11 E10", "atc": "", "pseudonymised": "Oui",
                             "duration_months": "24", "snapshot": "snds@2024-12", "use": " étude "})
    assert form["persons"] == ["a@x.example", "b@x.example"] and form["pseudonymised"] is True
    assert form["duration_months"] == 24 and form["use"] == "étude"
    assert form["data"] == {"snapshot": "snds@2024-12", "tables": ["ER_PRS_F", "IR_BEN_R"], "years": [2023, 2024],
                            "population": {"icd10": ["E11", "E10"]}}


def test_only_the_fields_sent_change_and_empty_numbers_stay_empty():
    assert form_from_fields({"duration_months": "", "functions": "x"}) == {"duration_months": None, "functions": "x"}
    assert form_from_fields({"pseudonymised": "peut-être"}) == {"pseudonymised": None}


@pytest.mark.parametrize("field, value", [("years", "2023, deux mille"), ("duration_months", "12.5")])
def test_bad_numbers_name_their_field(field, value):
    with pytest.raises(InvalidInput) as exc:
        form_from_fields({field: value})
    assert exc.value.details["field"] == field


def test_a_stored_form_fills_the_page_and_comes_back_the_same():
    fields = fields_from_form(FULL)
    assert fields["persons"] == "alice@inserm.example" and fields["years"] == "2023" and fields["pseudonymised"] == "oui"
    again = form_from_fields(fields)
    assert {k: again[k] for k in ("persons", "purpose", "duration_months", "pseudonymised")} == \
        {k: FULL[k] for k in ("persons", "purpose", "duration_months", "pseudonymised")}
    assert again["data"]["tables"] == FULL["data"]["tables"] and fields_from_form({})["persons"] == ""
    assert form_from_fields(fields_from_form({**FULL, "engine": "spark"}))["engine"] == "spark"  # the page's select
    assert fields_from_form(FULL)["engine"] == ""  # none named: the platform's

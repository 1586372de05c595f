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
    assert fields["persons"] == "alice@inserm.example" and fields["years"] == "2023" and fields["pseudonymised"] == "yes"
    again = form_from_fields(fields)
    assert {k: again[k] for k in ("persons", "purpose", "duration_months", "pseudonymised")} == \
        {k: FULL[k] for k in ("persons", "purpose", "duration_months", "pseudonymised")}
    assert again["data"]["tables"] == FULL["data"]["tables"] and fields_from_form({})["persons"] == ""
    assert form_from_fields(fields_from_form({**FULL, "engine": "spark"}))["engine"] == "spark"  # the page's select
    assert fields_from_form(FULL)["engine"] == ""  # none named: the platform's


def test_a_pages_form_is_read_as_its_model_and_a_refused_value_names_its_field():
    """Issue 18, item 12: page forms are read as pydantic models; what a model refuses is a
    domain error naming the field (shown beside it), never FastAPI's JSON 422."""
    from datetime import date

    import pytest
    from starlette.datastructures import FormData

    from bastide.errors import InvalidInput
    from bastide.web.admin import MemberForm
    from bastide.web.forms import read_form
    from bastide.web.governance import CallForm, ExtensionForm

    member = read_form(MemberForm, FormData([("csrf_token", "x"), ("email", "a@b.example"), ("organisation", " Labo "),
                                             ("roles", "researcher"), ("roles", "auditor"),
                                             ("end_of_rights", "2027-06-30")]))
    assert (member.organisation, member.roles, member.end_of_rights) == ("Labo", ["researcher", "auditor"],
                                                                         date(2027, 6, 30))
    for model, fields, said in (
            (MemberForm, [("end_of_rights", "30/06/2027")], "write end_of_rights as YYYY-MM-DD"),
            (ExtensionForm, [("months", "six")], "months is a whole number"),
            (CallForm, [("opens_on", "2027-01-01")], "closes_on is missing")):
        with pytest.raises(InvalidInput) as refused:
            read_form(model, FormData(fields))
        assert refused.value.message == said and refused.value.details["field"] == said.split()[1 if said.startswith("write") else 0]
    call = read_form(CallForm, FormData([("opens_on", "2027-01-01"), ("closes_on", "2027-02-01"),
                                         ("criteria", "science: 2\nimpact\n\n")]))
    assert call.weighted_criteria() == [{"name": "science", "weight": 2.0}, {"name": "impact", "weight": 1}]
    with pytest.raises(InvalidInput, match="a criterion's weight is a number"):
        read_form(CallForm, FormData([("opens_on", "2027-01-01"), ("closes_on", "2027-02-01"),
                                      ("criteria", "science: a lot")])).weighted_criteria()

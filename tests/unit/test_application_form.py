"""GOV-01, GOV-03, GOV-05, GOV-09: the form and the deadline arithmetic, without a database."""

import sys
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest

from bastide.config import Settings
from bastide.errors import InvalidInput
from bastide.governance import deadlines
from bastide.governance.form import check_fields, check_submission, missing_fields
from bastide.web.forms import form_id
from bastide.workspaces.engine_choice import EngineUnavailable, configured_engine

FULL = {
    "persons": ["alice@inserm.example"], "functions": "epidemiologist", "purpose": "e", "use": "cohort study",
    "data": {"snapshot": "snds@2024-12", "tables": ["ER_PRS_F"], "years": [2023]}, "pseudonymised": True,
    "pseudonymisation_justification": "linkage over time", "gdpr_compliance": "Art. 6(1)(e)",
    "brought_datasets": [], "safeguards": "SPE only", "duration_months": 24, "tools": "Python",
    "ethics": "CESREES", "optout_exception": "none",
}


def test_complete_form_passes():
    check_submission(FULL, sector="private")


@pytest.mark.parametrize("field", ["persons", "purpose", "use", "safeguards", "duration_months"])
def test_each_missing_element_is_named(field):
    form = {k: v for k, v in FULL.items() if k != field}
    with pytest.raises(InvalidInput) as exc:
        check_submission(form, sector="private")
    assert field in exc.value.details["missing"]


def test_pseudonymised_data_needs_its_justification():  # 67(2)(e), 67(4)
    form = {**FULL, "pseudonymisation_justification": ""}
    assert "pseudonymisation_justification" in missing_fields(form, sector="private")


def test_public_bodies_may_give_an_access_period():  # GOV-03
    form = {k: v for k, v in FULL.items() if k != "duration_months"} | {"access_period": "yearly updates"}
    assert missing_fields(form, sector="public") == []
    assert "duration_months" in missing_fields(form, sector="private")


def test_public_only_purpose_refused_for_private_body():  # GOV-05
    with pytest.raises(InvalidInput, match="public-sector"):
        check_submission({**FULL, "purpose": "c"}, sector="private")
    check_submission({**FULL, "purpose": "c"}, sector="public")


def test_the_engine_is_named_or_left_to_the_platform():  # 67(2)(i), issue 6
    for engine in ("", "duckdb", "spark"):
        check_submission({**FULL, "engine": engine}, sector="private")
    with pytest.raises(InvalidInput, match="engine is one of duckdb, spark") as refused:
        check_submission({**FULL, "engine": "hadoop"}, sector="private")
    assert refused.value.details == {"field": "engine"}


def test_a_permit_naming_spark_on_a_platform_without_it_is_a_clear_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "bastide.workspaces.spark.engine", None)  # as if pyspark were not installed
    with pytest.raises(EngineUnavailable, match="install bastide\\[spark\\]") as refused:
        configured_engine(Settings(env="test"), "spark")
    assert refused.value.exit_code == 69 and refused.value.http_status == 503
    configured_engine(Settings(env="test"), "duckdb").close()


def test_decision_due_pauses_and_extends():  # GOV-09
    submitted = datetime(2026, 1, 31, 9, tzinfo=UTC)
    app = SimpleNamespace(submitted_at=submitted, decided_at=None, track="standard", extended=False,
                          paused_at=None, paused_seconds=0)
    assert deadlines.decision_due(app, submitted) == datetime(2026, 4, 30, 9, tzinfo=UTC)
    app.paused_at = datetime(2026, 2, 10, tzinfo=UTC)
    assert deadlines.decision_due(app, datetime(2026, 2, 20, tzinfo=UTC)) == datetime(2026, 5, 10, 9, tzinfo=UTC)
    app.paused_at, app.paused_seconds, app.extended = None, int(timedelta(days=10).total_seconds()), True
    assert deadlines.decision_due(app, submitted) == datetime(2026, 8, 10, 9, tzinfo=UTC)  # Jan 31 + 6 months = Jul 31, + 10 paused days
    assert deadlines.is_overdue(app, datetime(2026, 9, 1, tzinfo=UTC))


def test_a_form_holds_only_its_fields_and_typed_text():
    """Issue 16, item 5: update_form stored any key, control characters and lone surrogates."""
    check_fields(FULL)
    check_fields({"use": "two lines\nand a tab\tare typed", "data": {"tables": ["ER_PRS_F"]}})
    for bad, field in (({"favourite_colour": "blue"}, "favourite_colour"), ({"use": "bell\x07"}, "use"),
                       ({"safeguards": "half \ud800 a pair"}, "safeguards"),
                       ({"data": {"tables": ["ER_PRS_F\x00"]}}, "data")):
        with pytest.raises(InvalidInput) as refused:
            check_fields(bad)
        assert refused.value.details["field"] == field
    with pytest.raises(InvalidInput) as unknown:
        check_fields({"favourite_colour": "blue", "zodiac": "leo"})
    assert unknown.value.code == "unknown_field" and unknown.value.details["unknown"] == ["favourite_colour", "zodiac"]


@pytest.mark.parametrize("raw", ["abc", "-3", "0", "1.5", str(2**31), str(10**40)])
def test_an_id_a_page_sends_is_a_listed_one_or_a_clear_error(raw):
    """Issue 16: int() of a page's output_id or call_id was a 500 for text, and past 2^31 - 1 PostgreSQL
    refused the query (a 500 again)."""
    with pytest.raises(InvalidInput, match="names nothing") as wrong:
        form_id({"output_id": raw}, "output_id")
    assert wrong.value.details == {"field": "output_id"}


def test_an_id_left_empty_is_none_and_a_listed_one_is_read():
    assert form_id({}, "call_id") is None and form_id({"call_id": " "}, "call_id") is None
    assert form_id({"call_id": "42"}, "call_id") == 42 and form_id({"call_id": str(2**31 - 1)}, "call_id") == 2**31 - 1

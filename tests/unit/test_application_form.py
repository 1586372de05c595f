"""GOV-01, GOV-03, GOV-05, GOV-09: the form and the deadline arithmetic, without a database."""

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest

from bastide.errors import InvalidInput
from bastide.governance import deadlines
from bastide.governance.form import check_submission, missing_fields

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

"""An application from draft to a granted or refused decision (GOV-01…GOV-12, GOV-22)."""

from __future__ import annotations

from datetime import date

import pytest

from bastide.errors import Conflict, InvalidInput, TransitionNotAllowed
from bastide.governance import permits
from bastide.governance import service as gov
from bastide.identity import service as identity
from bastide.identity.policy import Forbidden
from tests.unit.test_application_form import FULL


def _new(platform, alice, form=None):
    with platform.db.unit_of_work() as s:
        user = identity.get_user(s, "alice@labo.example")
        return gov.create_application(s, actor=alice, user=user, title="Diabète et statines", procedure="standard",
                                      form=form or {}).id


def _do(platform, app_id, fn, **kw):
    with platform.db.unit_of_work() as s:
        return fn(s, app=gov.get_application(s, app_id), **kw)


def test_from_draft_to_granted(gov_world):
    platform, p = gov_world
    app_id = _new(platform, p["alice"])
    with pytest.raises(InvalidInput) as exc:  # GOV-01: every missing element is named
        _do(platform, app_id, gov.act, actor=p["alice"], action="submit")
    assert "persons" in exc.value.details["missing"]
    _do(platform, app_id, gov.update_form, actor=p["alice"], changes=FULL)
    _do(platform, app_id, gov.act, actor=p["alice"], action="submit")
    with pytest.raises(TransitionNotAllowed) as exc:  # not in the table: the allowed actions are named
        _do(platform, app_id, gov.act, actor=p["ines"], action="grant")
    assert exc.value.details["allowed"] == ["screen", "withdraw"]
    _do(platform, app_id, gov.act, actor=p["ines"], action="screen")
    _do(platform, app_id, gov.act, actor=p["ines"], action="request_information", justification="which years?")
    _do(platform, app_id, gov.update_form, actor=p["alice"], changes={"data": {**FULL["data"], "years": [2023, 2024]}})
    _do(platform, app_id, gov.act, actor=p["alice"], action="provide_information")
    with pytest.raises(InvalidInput, match="criteria"):  # GOV-06
        _do(platform, app_id, gov.act, actor=p["ines"], action="grant")
    for criterion in (*"abcdefgh", "risk_a", "risk_b"):  # Art. 68(1) criteria, Art. 68(2) risks
        _do(platform, app_id, gov.assess, actor=p["ines"], criterion=criterion, met=True, note="ok")
    _do(platform, app_id, gov.assess, actor=p["ines"], criterion="risk_b", met=False, note="base ANSM")
    with pytest.raises(InvalidInput, match="risk_b recorded as not met") as exc:  # Art. 68(3): refused, not granted
        _do(platform, app_id, gov.act, actor=p["ines"], action="grant")
    assert exc.value.code == "assessment_unfavourable"
    _do(platform, app_id, gov.assess, actor=p["ines"], criterion="risk_b", met=True, note="hors périmètre")
    with pytest.raises(InvalidInput, match="CESREES"):  # GOV-22
        _do(platform, app_id, gov.act, actor=p["ines"], action="grant")
    with pytest.raises(Forbidden):
        _do(platform, app_id, gov.record_opinion, actor=p["ines"], kind="ethics", reference="C-1", on=date.today(),
            outcome="favourable")
    _do(platform, app_id, gov.record_opinion, actor=p["louis"], kind="ethics", reference="CESREES-2026-42",
        on=date.today(), outcome="favourable")
    _do(platform, app_id, gov.record_opinion, actor=p["louis"], kind="cnil", reference="DR-2026-101",
        on=date.today(), outcome="authorised")
    _do(platform, app_id, gov.extend_deadline, actor=p["ines"], reason="complex linkage")
    with pytest.raises(Conflict, match="once"):
        _do(platform, app_id, gov.extend_deadline, actor=p["ines"], reason="again")
    permit = _do(platform, app_id, permits.grant, actor=p["ines"], signer=platform.signer)
    assert (permit.application.status, permit.application.decision) == ("decision_issued", "granted")
    with platform.db.unit_of_work() as s:
        text = permits.export(permits.get_permit(s, permit.id), platform.signer.public_pem())
    document = permits.verify_file(text, public_pem=platform.signer.public_pem())  # GOV-10
    assert document["data"]["snapshot"] == "snds@2024-12" and len(document["data"]["merkle_root"]) == 64
    assert document["persons"] == ["alice@inserm.example"] and document["opinions"]["cnil"]["reference"] == "DR-2026-101"
    tampered = text.replace('"duration_months": 24', '"duration_months": 48').replace('"years": [', '"years": [2019, ')
    with pytest.raises(InvalidInput, match="altered"):
        permits.verify_file(tampered, public_pem=platform.signer.public_pem())
    _verify_offline_with_the_cli(platform, text, tampered)


def _verify_offline_with_the_cli(platform, text, tampered):
    """A holder checks the file with the public key only: no database, no store (GOV-10)."""
    import os
    import subprocess
    import sys

    folder = platform.settings.home / "holder"
    folder.mkdir()
    (folder / "bastide.pub").write_text(platform.signer.public_pem())
    (folder / "permit.json").write_text(text)
    (folder / "tampered.json").write_text(tampered)
    env = {**os.environ, "BASTIDE_HOME": str(folder / "no-platform-here")}

    def verify(name):
        return subprocess.run([sys.executable, "-m", "bastide.cli", "permits", "verify", str(folder / name),
                               "--public-key", str(folder / "bastide.pub")], capture_output=True, text=True, env=env)

    good, bad = verify("permit.json"), verify("tampered.json")
    assert good.returncode == 0 and "valid" in good.stdout
    assert bad.returncode == 6 and "altered" in bad.stderr and "Traceback" not in bad.stderr


def test_refusal_needs_justification_and_only_the_applicant_acts(gov_world):
    platform, p = gov_world
    app_id = _new(platform, p["alice"], form=FULL)
    with pytest.raises(Forbidden):  # bob is a researcher too, but not this applicant
        _do(platform, app_id, gov.act, actor=p["bob"], action="submit")
    with pytest.raises(TransitionNotAllowed):  # an instructor does not submit for the applicant
        _do(platform, app_id, gov.act, actor=p["ines"], action="submit")
    _do(platform, app_id, gov.act, actor=p["alice"], action="submit")
    _do(platform, app_id, gov.act, actor=p["ines"], action="screen")
    _do(platform, app_id, gov.act, actor=p["ines"], action="accept")
    with pytest.raises(InvalidInput, match="justification"):  # GOV-12
        _do(platform, app_id, gov.act, actor=p["ines"], action="refuse", justification=" ")
    app = _do(platform, app_id, gov.act, actor=p["ines"], action="refuse", justification="purpose not met")
    assert app.decision == "refused" and app.justification == "purpose not met"


def test_a_permit_over_ten_years_is_refused(gov_world):
    platform, p = gov_world
    app_id = _new(platform, p["alice"], form={**FULL, "duration_months": 121})
    with pytest.raises(InvalidInput, match="120"):
        _do(platform, app_id, gov.act, actor=p["alice"], action="submit")
    with pytest.raises(InvalidInput, match="10 years"):
        _do(platform, app_id, permits.grant, actor=p["ines"], signer=platform.signer)


def test_unknown_snapshot_or_table_is_refused_at_submission(gov_world):
    platform, p = gov_world
    app_id = _new(platform, p["alice"], form={**FULL, "data": {**FULL["data"], "tables": ["ER_XXX_F"]}})
    with pytest.raises(InvalidInput, match="ER_XXX_F"):
        _do(platform, app_id, gov.act, actor=p["alice"], action="submit")


def test_instructor_queue_lists_due_dates(gov_world):
    platform, p = gov_world
    app_id = _new(platform, p["alice"], form=FULL)
    _do(platform, app_id, gov.act, actor=p["alice"], action="submit")
    with platform.db.unit_of_work() as s:
        queue = gov.instructor_queue(s, actor=p["ines"])
        assert [(a.id, due is not None) for a, due in queue] == [(app_id, True)]
        with pytest.raises(Forbidden):
            gov.instructor_queue(s, actor=p["alice"])


def test_the_variables_asked_for_must_fit_the_tables_asked_for(gov_world):
    """Issue 18, item 2: an extract came back with a table reduced to its keys and a variable
    silently dropped, its table not asked. schema-snds: PHA_ATC_C07 (the ATC class) is a column
    of IR_PHA_R only; PHA_PRS_C13 of ER_PHA_F (and EB_/NS_PHA_F, not delivered here);
    PRS_NAT_REF of ER_PRS_F."""
    platform, p = gov_world

    def submitted(tables, columns):
        app_id = _new(platform, p["alice"], form={**FULL, "data": {**FULL["data"], "tables": tables,
                                                                     "columns": columns}})
        return _do(platform, app_id, gov.act, actor=p["alice"], action="submit")

    with pytest.raises(InvalidInput, match="PHA_ATC_C07 is in IR_PHA_R — add their table") as stray:
        submitted(["ER_PRS_F", "ER_PHA_F"], ["PHA_ATC_C07", "PHA_PRS_C13", "PRS_NAT_REF"])
    assert stray.value.details == {"field": "data.columns", "rule": "stray_variable",
                                   "variables": {"PHA_ATC_C07": ["IR_PHA_R"]}}
    with pytest.raises(InvalidInput, match="no table of snds@2024-12"):
        submitted(["ER_PRS_F"], ["PRS_NAT_REF", "NOT_A_VARIABLE"])
    with pytest.raises(InvalidInput, match="none of the variables named is in ER_PHA_F") as bare:
        submitted(["ER_PRS_F", "ER_PHA_F"], ["PRS_NAT_REF"])
    assert bare.value.details["tables"] == ["ER_PHA_F"]
    assert submitted(["ER_PHA_F", "IR_PHA_R"], ["PHA_ATC_C07", "PHA_PRS_C13"]).status == "submitted"
    assert submitted(["ER_PHA_F", "IR_PHA_R"], []).status == "submitted"  # no list: every column of each

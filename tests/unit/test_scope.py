"""The data scope read against a release (issue 18, item 2; GOV-01 the data asked for, SNDS rules of
../shared/research/snds-rules.md). The release is built from the real schema-snds tables, so the
keys each table holds are the documented ones; expected answers are worked out from the
documentation and the shipped nomenclatures (grep of their CSV), not from the code."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from bastide.base.schema import snds_registry
from bastide.errors import InvalidInput
from bastide.governance import scope

TABLES = ("ER_PRS_F", "ER_PHA_F", "ER_BIO_F", "IR_PHA_R", "IR_BEN_R", "T_MCOaaB", "T_MCOaaC", "T_MCOaaD",
          "T_MCOaaCSTC", "T_MCOaaFASTC", "KI_CCI_R")


@pytest.fixture(scope="module")
def release():
    registry = snds_registry()
    tables = [SimpleNamespace(name=name, product=registry.tables[name].product, rows=1000 * (i + 1),
                              bytes=23_000 * (i + 1),
                              variables=[SimpleNamespace(name=c) for c in registry.tables[name].column_names])
              for i, name in enumerate(TABLES)]
    return SimpleNamespace(ref="snds@2024-12", tables=tables)


def codes(found, blocking=None):
    return [p.code for p in found if blocking is None or p.blocking == blocking]


def test_dcir_satellites_alone_cannot_be_tied_to_a_person(release):
    """fiches/prestation.md: ER_PHA_F and ER_BIO_F meet ER_PRS_F (which names the person,
    BEN_NIR_PSA) through the 9 DCIR keys; asked without it, their lines name no one."""
    found = scope.problems(release, {"tables": ["ER_PHA_F", "ER_BIO_F"], "population": {"icd10": ["E11"]}})
    unlinked = [p for p in found if p.code == "unlinked"]
    assert [(p.values["tables"], p.values["through"], p.blocking) for p in unlinked] == [
        ("ER_BIO_F, ER_PHA_F", "ER_PRS_F", False)]
    # fiches/medicament.md: a dispensed drug's ATC class is read in IR_PHA_R (CIP13 -> PHA_ATC_C07)
    assert ("no_atc", {"table": "ER_PHA_F", "through": "IR_PHA_R"}) in [(p.code, p.values) for p in found]


def test_a_pmsi_stay_table_needs_the_patient_table_and_an_ace_one_its_own(release):
    """fiches/requete_type_pmsi_mco.md: a stay (ETA_NUM, RSA_NUM) meets its patient (NIR_ANO_17) in
    T_MCOaaC; T_MCOaaFASTC names its patient itself (NIR_ANO_17), so it needs nothing more."""
    found = scope.problems(release, {"tables": ["T_MCOaaB", "T_MCOaaD", "T_MCOaaFASTC"], "population": {"sex": [2]}})
    assert [(p.values["tables"], p.values["through"]) for p in found if p.code == "unlinked"] == [
        ("T_MCOaaB, T_MCOaaD", "T_MCOaaC")]


def test_the_central_tables_asked_leave_nothing_unlinked(release):
    data = {"tables": ["ER_PRS_F", "ER_PHA_F", "IR_PHA_R", "T_MCOaaB", "T_MCOaaC", "IR_BEN_R"],
            "population": {"atc": ["A10"]}}
    assert scope.problems(release, data) == []


def test_population_codes_are_looked_up_in_the_shipped_nomenclatures(release):
    """IR_CIM_V holds E11 and its subcodes (E119 among them: 'E11.9' is written with its dot) and
    no U99 (its U codes are U04…U90); IR_CCAM_V63 holds AHQP001 and no ZZZZ999; IR_CIP_V's ATC
    classes are the 2nd level (A10 for A10BA02, metformin), with no Q class (Q is ATCvet)."""
    data = {"tables": ["ER_PRS_F"], "population": {"icd10": ["E11", "E11.9", "U99"], "ccam": ["AHQP001", "ZZZZ999"],
                                                    "atc": ["A10BA02", "Q01", "A1", "10A"]}}
    found = {(p.code, p.field): p for p in scope.problems(release, data)}
    assert found["unknown_code", "icd10"].values["codes"] == "U99" and found["unknown_code", "icd10"].blocking
    assert found["unknown_code", "ccam"].values["codes"] == "ZZZZ999" and not found["unknown_code", "ccam"].blocking
    assert found["unknown_code", "atc"].values["codes"] == "Q01" and not found["unknown_code", "atc"].blocking
    assert found["malformed_atc", "atc"].values["codes"] == "A1, 10A" and found["malformed_atc", "atc"].blocking


@pytest.mark.parametrize("code", ["A", "A10", "A10B", "A10BA", "A10BA02"])
def test_an_atc_code_may_be_cut_at_any_of_its_five_levels(code):
    assert scope.ATC.match(code)


@pytest.mark.parametrize("code", ["A1", "A10B1", "A10BA0", "A10BA021", "10", "a10"])
def test_other_shapes_are_not_atc_codes(code):
    assert not scope.ATC.match(code)


def test_variables_per_table_must_be_of_their_table(release):
    data = {"tables": ["ER_PRS_F", "IR_BEN_R"], "population": {"sex": [1]},
            "columns": {"ER_PRS_F": ["PRS_NAT_REF", "EXE_SOI_DTD", "PHA_ATC_C07"], "IR_BEN_R": [],
                        "T_MCOaaB": ["DGN_PAL"]}}
    found = scope.problems(release, data)
    assert [(p.code, p.values) for p in found] == [
        ("unasked_table", {"table": "T_MCOaaB"}),
        ("unknown_variable", {"table": "ER_PRS_F", "variables": "PHA_ATC_C07"})]
    with pytest.raises(InvalidInput, match="no variable PHA_ATC_C07|not among the tables") as raised:
        scope.check(release, data)
    assert raised.value.details["field"] == "data.columns"


def test_one_list_for_every_table_still_reads_as_before(release):
    """The form's older shape: each variable must be in a table asked, each table keep one."""
    stray = scope.problems(release, {"tables": ["ER_PHA_F", "ER_PRS_F"], "columns": ["PHA_ATC_C07"],
                                     "population": {"sex": [1]}})
    assert [(p.code, p.values["variables"]) for p in stray if p.code == "stray_variable"] == [
        ("stray_variable", "PHA_ATC_C07 is in IR_PHA_R")]
    bare = scope.problems(release, {"tables": ["ER_PRS_F", "IR_BEN_R"], "columns": ["PRS_NAT_REF"],
                                    "population": {"sex": [1]}})
    assert [(p.code, p.values) for p in bare] == [("keys_only", {"tables": "IR_BEN_R"})]


def test_no_population_criterion_is_a_warning_only(release):
    found = scope.problems(release, {"tables": ["IR_BEN_R"], "population": {}})
    assert codes(found) == ["no_criterion"] and codes(found, blocking=True) == []
    scope.check(release, {"tables": ["IR_BEN_R"], "population": {}})  # submission goes on


def test_a_table_the_release_lacks_is_named(release):
    with pytest.raises(InvalidInput, match="snds@2024-12 has no table ER_XXX_F") as raised:
        scope.check(release, {"tables": ["ER_PRS_F", "ER_XXX_F"], "population": {"sex": [1]}})
    assert raised.value.details == {"field": "data.tables", "rule": "unknown_table", "release": "snds@2024-12",
                                    "tables": "ER_XXX_F"}


def test_the_extract_shape_counts_the_release_and_prorates_its_bytes(release):
    """ER_PHA_F (23 variables in schema-snds, the fixture's 2nd table: 2,000 rows, 46,000 bytes)
    with 2 variables kept: 2 of 23, 46,000 × 2/23 = 4,000 bytes; IR_BEN_R all 21 kept."""
    data = {"tables": ["ER_PHA_F", "IR_BEN_R", "ER_NOPE_F"], "columns": {"ER_PHA_F": ["PHA_PRS_C13", "PHA_ACT_QSN"]}}
    shapes = {s.name: s for s in scope.shape(release, data)}
    assert set(shapes) == {"ER_PHA_F", "IR_BEN_R"}
    assert (shapes["ER_PHA_F"].rows, shapes["ER_PHA_F"].variables, shapes["ER_PHA_F"].of, shapes["ER_PHA_F"].bytes) == \
        (2000, 2, 23, 4000)
    assert (shapes["IR_BEN_R"].variables, shapes["IR_BEN_R"].of, shapes["IR_BEN_R"].bytes) == (21, 21, 5 * 23_000)


def test_asked_columns_reads_both_shapes():
    assert scope.asked_columns({"columns": {"A": ["x"]}}, "A") == {"x"}
    assert scope.asked_columns({"columns": {"A": ["x"]}}, "B") == frozenset()
    assert scope.asked_columns({"columns": ["x", "y"]}, "B") == {"x", "y"}
    assert scope.asked_columns({}, "B") == frozenset()


"""Drugs by the documented route (issue 15, items 2, 3 and 5). Expected answers worked out by hand
from documentation-snds fiches/medicament.md:
- a dispensation's class: ER_PHA_F.PHA_PRS_C13 = IR_PHA_R.PHA_CIP_C13 -> PHA_ATC_C07 (« Cibler des
  patients sur une classe ATC »), the CIP7 (PHA_PRS_IDE) where a line has no CIP13;
- ATC criteria are prefixes of the 7-character class, so any level 1-7 selects;
- a CIP13 is 3400 9, the CIP7 and an EAN-13 check digit (« Construction des codes CIP 13 »);
and from fiches/sas_prestation_dcir.md: information lines (DPN_QLF 71) and cancelled dispensations
(a later line, negative quantity) are not dispensations."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from bastide.base.synth.codes import cip13_of
from bastide.errors import InvalidInput
from bastide.workspaces.compile import COHORT, cohort_sql
from bastide.workspaces.spec import ExtractSpec, Population
from tests.extract_sql import as_sources, persons_table
from tests.unit.test_analytics import _keys, _load, _prs, _rows, _table

METFORMIN, GLICLAZIDE, PARACETAMOL = (3400930000011, 3000001, "A10BA02"), (3400930000028, 3000002, "A10BB09"), \
    (3400935955838, 3595583, "N02BE01")


def _line(n, drug, boxes=1, flux=date(2023, 1, 1), *, c13=True, c7=True):
    c13_code, c7_code, _atc = drug
    return {**_keys(n, flux), "PHA_PRS_C13": c13_code if c13 else None, "PHA_PRS_IDE": c7_code if c7 else None,
            "PHA_ACT_QSN": boxes, "ORG_CLE_NEW": "x"}


DRUGS = {
    "IR_PHA_R": _table([{"PHA_CIP_C13": c13, "PHA_PRS_IDE": c7, "PHA_ATC_C07": atc}
                        for c13, c7, atc in (METFORMIN, GLICLAZIDE, PARACETAMOL)]),
    "ER_PRS_F": _table([_prs(1, "P1"), _prs(2, "P2"), _prs(3, "P3"), _prs(4, "P3", flux=date(2023, 2, 1)),
                        _prs(5, "P4", DPN_QLF=71), _prs(6, "P5")]),
    "ER_PHA_F": _table([
        _line(1, METFORMIN, 2, c7=False),  # P1: by its CIP13 only
        _line(2, GLICLAZIDE, c13=False),  # P2: an older line, CIP7 only
        _line(3, METFORMIN), _line(4, METFORMIN, -1, flux=date(2023, 2, 1)),  # P3: dispensed, then cancelled
        _line(5, METFORMIN),  # P4: an information line
        _line(6, PARACETAMOL),  # P5
    ]),
}


def test_a_cip13_is_built_from_its_cip7():
    # Doliprane 1000 mg, 8 tablets: CIP7 3595583, CIP13 3400935955838 (the public drug database)
    assert cip13_of(np.array([3595583])).tolist() == [3400935955838]


def test_dispensations_take_the_seven_character_class_by_cip13_else_cip7(engine):
    _load(engine, DRUGS)
    got = _rows(engine, "SELECT person, cip, atc, boxes FROM drug_dispensations ORDER BY person")
    assert got == [("P1", "3400930000011", "A10BA02", 2), ("P2", "3000002", "A10BB09", 1),
                   ("P5", "3400935955838", "N02BE01", 1)]  # P3 cancelled, P4 information only
    events = _rows(engine, "SELECT category, value FROM events WHERE person = 'P1' ORDER BY category")
    assert events == [("drug_atc1", "A"), ("drug_atc3", "A10"), ("drug_atc4", "A10B"), ("drug_atc5", "A10BA"),
                      ("drug_atc7", "A10BA02"), ("drug_cip", "3400930000011")]


def _cohort(engine, atc: tuple[str, ...], tables=DRUGS) -> list[str]:
    tables = {**tables, "IR_BEN_R": persons_table("P1", "P2", "P3", "P4", "P5")}
    schemas = as_sources(engine, tables)
    spec = ExtractSpec("permit", "snds@r", "root", tuple(tables), (2023,), population=Population(atc=atc))
    engine.materialise(COHORT, cohort_sql(spec, schemas, b"k" * 32, engine.dialect))
    return sorted(r[0] for r in _rows(engine, f"SELECT person FROM {COHORT}"))


@pytest.mark.parametrize(("atc", "persons"), [
    (("A",), ["P1", "P2"]), (("A10",), ["P1", "P2"]), (("A10B",), ["P1", "P2"]), (("A10BA",), ["P1"]),
    (("A10BB09",), ["P2"]), (("N02", "A10BA02"), ["P1", "P5"]), (("C09",), [])])
def test_atc_criteria_select_at_any_level_and_never_on_cancelled_or_information_lines(engine, atc, persons):
    assert _cohort(engine, atc) == persons


def test_without_ir_pha_r_a_class_finer_than_three_characters_is_refused_not_silently_empty(engine):
    tables = {**{k: v for k, v in DRUGS.items() if k != "IR_PHA_R"},
              "IR_CIP_V": _table([{"PHA_PRS_IDE": c7, "PHA_ATC_CLA": atc[:3]} for _c, c7, atc in (METFORMIN, GLICLAZIDE)])}
    with pytest.raises(InvalidInput, match="IR_PHA_R"):
        _cohort(engine, ("A10B",), tables)
    assert _cohort(engine, ("A10",), tables) == ["P2"]  # IR_CIP_V knows the CIP7 only: P1's line has none

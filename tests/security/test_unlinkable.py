"""Deny by default in the extract (rule 1 of the developers' guide): a permitted table that the
extract cannot link to the cohort used to be copied whole — every patient of the country. It is
now refused, unless it holds no person at all (a nomenclature, a referential of drugs,
establishments or professionals). Public hospitals' outpatient visits (ACE: T_MCOaaFBSTC,
FCSTC…) meet their patient through T_MCOaaCSTC on (ETA_NUM, SEQ_NUM) (schema-snds: T_MCOaaCSTC's
foreign key to T_MCOaaFASTC), and only the cohort's visits come."""

from __future__ import annotations

import pyarrow as pa
import pytest

from bastide.errors import InvalidInput
from bastide.workspaces.compile import COHORT, cohort_sql, table_plan
from bastide.workspaces.spec import ExtractSpec, Population
from tests.extract_sql import as_sources

KEY = b"k" * 32
VISITS = pa.table({"ETA_NUM": ["750100042", "750100042"], "SEQ_NUM": ["0001", "0002"],
                   "NIR_ANO_17": ["ALICE", "BOB"]})
FEES = pa.table({"ETA_NUM": ["750100042", "750100042", "750100042"], "SEQ_NUM": ["0001", "0002", "0002"],
                 "ACT_COD": ["CS", "C", "K"]})


PEOPLE = pa.table({"BEN_NIR_PSA": ["ALICE", "BOB"], "BEN_RNG_GEM": [1, 1], "BEN_IDT_ANO": ["ALICE", "BOB"],
                   "BEN_SEX_COD": [2, 1]})


def _plan(engine, tables: dict[str, pa.Table], table: str, present=None):
    """The table's plan in an extract whose cohort is the women: Alice."""
    schemas = as_sources(engine, {"IR_BEN_R": PEOPLE, **tables})
    spec = ExtractSpec("permit", "snds@r", "root", tuple(tables), (2023,), population=Population(sex=(2,)))
    engine.materialise(COHORT, cohort_sql(spec, schemas, KEY, engine.dialect))
    return table_plan(table, schemas[table], spec, KEY, engine.dialect,
                      present=frozenset(schemas) if present is None else present)


def test_a_table_of_patients_without_a_key_the_extract_knows_is_refused_not_copied_whole(engine):
    registry = pa.table({"patient": ["ALICE", "BOB"], "tumour": ["C50", "C61"]})
    with pytest.raises(InvalidInput) as refused:
        _plan(engine, {"REGISTRE_CANCERS": registry}, "REGISTRE_CANCERS")
    assert refused.value.details == {"table": "REGISTRE_CANCERS", "rule": "unlinkable_table"}


def test_outpatient_fees_without_the_visits_table_are_refused(engine):
    with pytest.raises(InvalidInput, match="T_MCOaaCSTC"):
        _plan(engine, {"T_MCOaaFBSTC": FEES}, "T_MCOaaFBSTC", present=frozenset({"IR_BEN_R", "T_MCOaaFBSTC"}))


def test_outpatient_fees_come_for_the_cohorts_visits_only(engine):
    plan = _plan(engine, {"T_MCOaaCSTC": VISITS, "T_MCOaaFBSTC": FEES}, "T_MCOaaFBSTC")
    assert plan.link == "visit_keys"
    rows = engine.con.execute(f"SELECT ACT_COD FROM ({plan.sql}) AS t ORDER BY ACT_COD").fetchall()
    assert rows == [("CS",)]  # Alice's visit 0001; Bob's two fees stay out


def test_a_nomenclature_holds_no_one_and_comes_whole(engine):
    icd = pa.table({"CIM_COD": ["C50", "C61"], "CIM_LIB": ["sein", "prostate"]})
    plan = _plan(engine, {"IR_CIM_V": icd}, "IR_CIM_V")
    assert plan.link == "none"
    assert engine.con.execute(f"SELECT count(*) FROM ({plan.sql}) AS t").fetchone()[0] == 2

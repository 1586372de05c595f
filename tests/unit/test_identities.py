"""A person, not a pseudo-NIR (issue 15, item 1). Worked out by hand from documentation-snds
fiches/fiche_beneficiaire.md (« un individu a plusieurs pseudo-NIR »; twins share a BEN_NIR_PSA
and differ by BEN_RNG_GEM; BEN_ID = BEN_NIR_ANO, else BEN_NIR_PSA and BEN_RNG_GEM) and sndsTools'
retrieve_patient_id (a BEN_IDT_ANO gathers its BEN_NIR_PSA):

| person | IR_BEN_R rows (BEN_NIR_PSA, BEN_RNG_GEM) | identified by |
|---|---|---|
| Alice | (A1, 1), (A2, 1) | BEN_IDT_ANO IA |
| twin 1, twin 2 | (T, 1), (T, 2) | BEN_IDT_ANO IT1, IT2 |
| Bob | (B1, 1), (B2, 1), no BEN_IDT_ANO | BEN_NIR_ANO NB |
| Carol | (C, 1), neither | C_1 |
"""

from __future__ import annotations

from datetime import date

import pyarrow as pa
import pyarrow.compute as pc

from bastide.workspaces.compile import (CLAIMS, COHORT, PROFESSIONALS, claims_sql, cohort_sql, professionals_sql,
                                       table_plan)
from bastide.workspaces.pseudonym import pseudonym
from bastide.workspaces.spec import ExtractSpec, Population
from tests.extract_sql import as_sources
from tests.unit.test_analytics import _load, _prs, _rows, _table

KEY = b"k" * 32
PEOPLE = pa.table({"BEN_NIR_PSA": ["A1", "A2", "T", "T", "B1", "B2", "C"],
                   "BEN_RNG_GEM": [1, 1, 1, 2, 1, 1, 1],
                   "BEN_IDT_ANO": ["IA", "IA", "IT1", "IT2", None, None, None],
                   "BEN_NIR_ANO": ["NA", "NA", "NT1", "NT2", "NB", "NB", None],
                   "BEN_SEX_COD": [2, 2, 1, 1, 1, 1, 2]})


def _care(n, nir, rank=1):
    """Prestation n, its amount n (the extract replaces its numbers, not its amount)."""
    return _prs(n, nir, care=date(2023, 3, 1), BEN_RNG_GEM=rank, PRS_PAI_MNT=float(n))


CARE = _table([_care(1, "A1"), _care(2, "A2"), _care(3, "T", 2), _care(4, "B2"), _care(5, "C")])


def _extract(engine, population=Population(), optouts=(), tables=None) -> dict[str, list[tuple]]:
    tables = tables or {"IR_BEN_R": PEOPLE, "ER_PRS_F": CARE}
    schemas = as_sources(engine, tables, optouts)
    spec = ExtractSpec("permit", "snds@r", "root", tuple(tables), (2023,), population=population)
    engine.materialise(COHORT, cohort_sql(spec, schemas, KEY, engine.dialect))
    claims = claims_sql(spec, schemas, KEY, engine.dialect)
    if claims:
        engine.con.execute(f'DROP TABLE IF EXISTS "{CLAIMS}"')
        engine.materialise(CLAIMS, claims)
    return {t: _rows(engine, table_plan(t, schemas[t], spec, KEY, engine.dialect).sql) for t in tables}


def test_every_pseudo_nir_of_a_person_gets_the_persons_one_pseudonym(engine):
    out = _extract(engine)
    assert sorted(r[0] for r in _rows(engine, f"SELECT person FROM {COHORT}")) == ["C_1", "IA", "IT1", "IT2", "NB"]
    names = CARE.schema.names
    persons = {int(r[names.index("PRS_PAI_MNT")]): r[names.index("BEN_NIR_PSA")] for r in out["ER_PRS_F"]}
    assert persons == {1: pseudonym(KEY, "IA"), 2: pseudonym(KEY, "IA"), 3: pseudonym(KEY, "IT2"),
                       4: pseudonym(KEY, "NB"), 5: pseudonym(KEY, "C_1")}
    assert len(out["IR_BEN_R"]) == 7  # a row per pseudo-NIR, each carrying its person's pseudonym


def test_twins_are_two_persons_and_a_person_with_two_pseudo_nirs_is_one(engine):
    _extract(engine, Population(sex=(1,)))  # the twins and Bob
    assert sorted(r[0] for r in _rows(engine, f"SELECT person FROM {COHORT}")) == ["IT1", "IT2", "NB"]
    _extract(engine, Population(sex=(2,)))  # Alice once, though she has two pseudo-NIRs; Carol
    assert sorted(r[0] for r in _rows(engine, f"SELECT person FROM {COHORT}")) == ["C_1", "IA"]


def test_an_opt_out_under_one_pseudo_nir_takes_the_person_out_under_all(engine):
    out = _extract(engine, optouts=("A2",))
    assert sorted(r[0] for r in _rows(engine, f"SELECT person FROM {COHORT}")) == ["C_1", "IT1", "IT2", "NB"]
    assert pseudonym(KEY, "IA") not in {r[list(CARE.schema.names).index("BEN_NIR_PSA")] for r in out["ER_PRS_F"]}


def test_an_opt_out_under_a_twins_own_identifier_takes_that_twin_alone(engine):
    """Twins share the pseudo-NIR T: an objection recorded under it takes both out (the registry
    cannot tell them apart: nobody who objected stays in); under twin 2's BEN_IDT_ANO, only twin 2."""
    _extract(engine, optouts=("T",))
    assert sorted(r[0] for r in _rows(engine, f"SELECT person FROM {COHORT}")) == ["C_1", "IA", "NB"]
    _extract(engine, optouts=("IT2",))
    assert sorted(r[0] for r in _rows(engine, f"SELECT person FROM {COHORT}")) == ["C_1", "IA", "IT1", "NB"]


def test_a_stay_of_a_shared_pseudo_nir_goes_to_the_twin_its_birth_rank_names_or_to_nobody(engine):
    stays = _table([{"ETA_NUM": 1, "RSA_NUM": n, "NIR_ANO_17": nir, "RNG_NAI": rank}
                    for n, nir, rank in ((1, "T", 2), (2, "T", None), (3, "A2", None))])
    out = _extract(engine, tables={"IR_BEN_R": PEOPLE, "T_MCOaaC": stays})
    names = stays.schema.names
    got = sorted((r[names.index("RSA_NUM")], r[names.index("NIR_ANO_17")]) for r in out["T_MCOaaC"])
    # RSA_NUM is a surrogate in the extract: compare by patient
    assert sorted(p for _n, p in got) == sorted([pseudonym(KEY, "IT2"), pseudonym(KEY, "IA")])


def test_the_persons_view_gathers_a_persons_rows_and_flags_what_they_disagree_on(engine):
    """In an extract BEN_NIR_PSA is the person's pseudonym: Alice's two rows disagree on her birth
    year (a flag, no value chosen), Bob's agree; a provisional NIR is flagged."""
    ben = _table([{"BEN_NIR_PSA": "alice", "BEN_SEX_COD": 2, "BEN_NAI_ANN": 1980, "BEN_CDI_NIR": "00"},
                  {"BEN_NIR_PSA": "alice", "BEN_SEX_COD": 2, "BEN_NAI_ANN": 1981, "BEN_CDI_NIR": "00"},
                  {"BEN_NIR_PSA": "bob", "BEN_SEX_COD": 1, "BEN_NAI_ANN": 1970, "BEN_CDI_NIR": "04"}])
    _load(engine, {"IR_BEN_R": ben})
    got = _rows(engine, "SELECT person, pseudo_nirs, sex, sex_inconsistent, birth_year, birth_year_inconsistent, "
                        "provisional FROM persons ORDER BY person")
    assert got == [("alice", 2, 2, False, None, True, False), ("bob", 1, 1, False, 1970, False, True)]


def test_a_persons_archived_pseudo_nir_still_brings_their_care_under_their_one_pseudonym(engine):
    """Alice's pseudo-NIR A2 is only in the archive (IR_BEN_R_ARC: guide CépiDc, chapter 3, « si
    ben_idt_ano ne figure pas dans IR_BEN_R, vous le recherchez dans le référentiel archivé »); a
    row the archive repeats from IR_BEN_R (A1) counts once, IR_BEN_R's."""
    current = PEOPLE.filter(pc.not_equal(PEOPLE["BEN_NIR_PSA"], "A2"))
    archive = _table([{"BEN_NIR_PSA": "A2", "BEN_RNG_GEM": 1, "BEN_IDT_ANO": "IA", "BEN_NIR_ANO": "NA"},
                      {"BEN_NIR_PSA": "A1", "BEN_RNG_GEM": 1, "BEN_IDT_ANO": "IA", "BEN_NIR_ANO": "NA"}])
    out = _extract(engine, Population(sex=(2,)), tables={"IR_BEN_R": current, "IR_BEN_R_ARC": archive, "ER_PRS_F": CARE})
    assert sorted(r[0] for r in _rows(engine, f"SELECT person FROM {COHORT}")) == ["C_1", "IA"]  # sex from IR_BEN_R's A1
    names = CARE.schema.names
    persons = {int(r[names.index("PRS_PAI_MNT")]): r[names.index("BEN_NIR_PSA")] for r in out["ER_PRS_F"]}
    assert persons == {1: pseudonym(KEY, "IA"), 2: pseudonym(KEY, "IA"), 5: pseudonym(KEY, "C_1")}
    assert len(out["IR_BEN_R"]) == 3  # Alice's A1 and A2, Carol: the archive read with the referential


def test_the_benchmarks_plain_plan_takes_the_same_rows_with_identifiers_as_they_are(engine):
    """bench/extract.py's baseline (table_plan(pseudonymise=False)) must do the same work but the
    pseudonyms and surrogates: the same cohort's rows, raw pseudo-NIRs, claim numbers and
    professionals' numbers."""
    care = _table([{**_care(1, "A1"), "PFS_EXE_NUM": "12345678"}, _care(2, "A2"), _care(5, "C")])
    tables = {"IR_BEN_R": PEOPLE, "ER_PRS_F": care}
    schemas = as_sources(engine, tables)
    spec = ExtractSpec("permit", "snds@r", "root", tuple(tables), (2023,), population=Population(sex=(2,)))
    engine.materialise(COHORT, cohort_sql(spec, schemas, KEY, engine.dialect))
    engine.materialise(CLAIMS, claims_sql(spec, schemas, KEY, engine.dialect))
    engine.materialise(PROFESSIONALS, professionals_sql(spec, schemas, KEY, engine.dialect))
    plans = [table_plan("ER_PRS_F", schemas["ER_PRS_F"], spec, KEY, engine.dialect, pseudonymise=p).sql
             for p in (False, True)]
    plain, real = (_rows(engine, f"SELECT BEN_NIR_PSA, DCT_ORD_NUM, PFS_EXE_NUM FROM ({sql}) ORDER BY 2")
                   for sql in plans)
    assert plain == [("A1", 1, "12345678"), ("A2", 2, None), ("C", 5, None)]
    assert len(real) == 3 and {r[0] for r in real} == {pseudonym(KEY, "IA"), pseudonym(KEY, "C_1")}
    numbers = [r[2] for r in real if r[2] is not None]  # the real plan replaces the professional's number
    assert len(numbers) == 1 and numbers[0] != "12345678"

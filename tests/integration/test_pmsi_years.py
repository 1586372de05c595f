"""A PMSI stay is (year, ETA_NUM, RSA_NUM): RSA_NUM numbers the stays of one year and starts
again the next (fiches/concepts_PMSI.md, « L'identification d'un séjour »; the extract's
issue-13 surrogates include the year). The synthetic delivery numbers them as the real base
does, each establishment from 1 every year, so 2023 and 2024 stays share their numbers. The
cohort and the stay tables of an extract over both years are checked against this test's own
year-aware computation, which the year-blind one must differ from."""

from __future__ import annotations

import csv
import operator
from collections import defaultdict

import pytest

from bastide.base.ingest import IngestRequest, ingest
from bastide.platform import operator_actor
from bastide.workspaces import service as workspaces
from bastide.workspaces.pseudonym import pseudonym, surrogate
from tests.conftest import _people
from tests.integration.test_permit_lifecycle import _granted
from tests.integration.test_workspaces import _extract_table, _pseudonym_key
from tests.snds_rules import Persons, chained, counted, with_archive
from tests.unit.test_application_form import FULL

pytestmark = pytest.mark.parametrize("deployment_kind", ["sqlite+local"], indirect=True)  # the deployment is irrelevant


def _rows(path) -> tuple[list[str], list[dict]]:
    with open(path, newline="") as fh:
        reader = csv.DictReader(fh, delimiter=";")
        return reader.fieldnames, list(reader)


def _stays_by_year(delivery) -> tuple[dict, dict, set]:
    """(year, ETA_NUM, RSA_NUM) -> its patient (a person: tests/snds_rules.py), and -> its
    diagnoses (B's main and related, D's); and the stays a cohort may count."""
    patient, codes, summarised, linked = {}, defaultdict(set), set(), set()
    people = Persons(with_archive(*(_rows(delivery / t / f"{t}.csv")[1] for t in ("IR_BEN_R", "IR_BEN_R_ARC"))))
    for year in ("23", "24"):
        for row in _rows(delivery / f"T_MCO{year}C" / f"T_MCO{year}C.csv")[1]:
            patient[(year, row["ETA_NUM"], row["RSA_NUM"])] = people.of(row["NIR_ANO_17"], row["RNG_NAI"])
            if chained(row):
                linked.add((year, row["ETA_NUM"], row["RSA_NUM"]))
        for row in _rows(delivery / f"T_MCO{year}B" / f"T_MCO{year}B.csv")[1]:
            codes[(year, row["ETA_NUM"], row["RSA_NUM"])] |= {row["DGN_PAL"], row["DGN_REL"]} - {""}
            if counted(row):
                summarised.add((year, row["ETA_NUM"], row["RSA_NUM"]))
        for row in _rows(delivery / f"T_MCO{year}D" / f"T_MCO{year}D.csv")[1]:
            codes[(year, row["ETA_NUM"], row["RSA_NUM"])].add(row["ASS_DGN"])
    return patient, codes, summarised & linked & {s for s, person in patient.items() if person}


def test_stays_of_two_years_with_the_same_numbers_stay_apart(platform, delivery):
    ingest(platform, actor=operator_actor(), request=IngestRequest(str(delivery), "snds", "2024-12"))
    p = _people(platform)
    patient, codes, countable = _stays_by_year(delivery)

    def patients(code: str) -> tuple[set, set]:
        """Those of the stays with the code, by (year, ETA_NUM, RSA_NUM) and by (ETA_NUM, RSA_NUM)."""
        aware = {patient[s] for s, cs in codes.items() if any(c.startswith(code) for c in cs) and s in countable}
        blind = {patient[(y, e, r)] for (_y, e, r), cs in codes.items() if any(c.startswith(code) for c in cs)
                 for y in ("23", "24") if (y, e, r) in countable}
        return aware, blind

    candidates = sorted({c[:3] for stay, cs in codes.items() if stay[0] == "23" for c in cs})
    code = next((c for c in candidates if operator.ne(*patients(c))), None)
    assert code, "the synthetic delivery must make the year matter"
    aware, _blind = patients(code)

    scope = {"snapshot": "snds@2024-12", "tables": ["T_MCOaaB", "T_MCOaaC"], "years": [2023, 2024],
             "population": {"icd10": [code]}}
    done = workspaces.provision(platform, actor=operator_actor(), permit_id=_granted(platform, p, {**FULL, "data": scope}))
    key = _pseudonym_key(platform, done.workspace)
    assert done.cohort == len(aware)
    c = _extract_table(platform, done.workspace, "T_MCOaaC")
    assert set(c["NIR_ANO_17"].to_pylist()) == {pseudonym(key, n) for n in aware}
    assert set(c["year"].to_pylist()) <= {2023, 2024}
    expected = {surrogate(key, "RSA_NUM", 2000 + int(y), e, r)[:20] for (y, e, r), n in patient.items() if n in aware}
    assert set(c["RSA_NUM"].to_pylist()) == expected  # a stay's surrogate carries its year

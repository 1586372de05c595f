"""IR_BEN_R (beneficiaries), IR_IMB_R (long-term illnesses, ALD), DA_PRA_R (practitioners) and
IR_PHA_R (drugs)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from bastide.base.synth.codes import ALD_ICD10, Codes, under
from bastide.base.synth.population import Population
from bastide.base.synth.values import (
    days,
    digits_ids,
    formatted,
    pick,
    unique_ids,
    year_of,
    yearmonth,
)


def beneficiaries(rng: np.random.Generator, pop: Population, last_day: np.datetime64,
                  death_dates: np.ndarray) -> dict[str, pa.Array]:
    """One row per pseudo-NIR of each person: a person with a second BEN_NIR_PSA has two rows with
    one BEN_IDT_ANO and BEN_NIR_ANO (a few of them disagreeing on the birth month, as real rows
    do); twins share a BEN_NIR_PSA and differ by BEN_RNG_GEM. `death_dates`: BEN_DCD_DTE as
    delivered, 1600-01-01 where no date was sent (synth.deaths)."""
    n = len(pop)
    second = np.flatnonzero(pop.second_nir != "") if pop.second_nir is not None else np.array([], dtype=np.int64)
    rows = np.r_[np.arange(n), second]
    taken = pa.array(rows)
    birth_month = formatted(pop.birth, "%m").to_numpy(zero_copy_only=False)[rows]
    drifted = np.r_[np.zeros(n, dtype=bool), rng.random(len(second)) < 0.1]
    if drifted.any():
        birth_month[drifted] = np.char.zfill((birth_month[drifted].astype(int) % 12 + 1).astype(str), 2)
    own = pa.array(unique_ids(rng, n, 17).to_numpy(zero_copy_only=False),
                   mask=~np.isin(pop.cdi, ("00", "03", "04")))  # a fictitious NIR has no BEN_NIR_ANO
    return {
        "BEN_NIR_PSA": pa.array(np.r_[pop.nir.to_numpy(zero_copy_only=False), pop.second_nir[second]]
                                if len(second) else pop.nir.to_numpy(zero_copy_only=False)),
        "BEN_RNG_GEM": pa.array(pop.rank[rows]),
        "BEN_NIR_ANO": own.take(taken),
        "BEN_IDT_ANO": pop.idt.take(taken),
        "BEN_IDT_TOP": pa.array(np.ones(len(rows), dtype=bool)),
        "BEN_CDI_NIR": pa.array(pop.cdi[rows]),
        "BEN_NAI_ANN": pa.array(year_of(pop.birth[rows])),
        "BEN_NAI_MOI": pa.array(birth_month),
        "BEN_SEX_COD": pa.array(pop.sex[rows]),
        "BEN_DCD_DTE": days(death_dates[rows]),
        "BEN_DCD_AME": yearmonth(death_dates[rows]),
        "ORG_AFF_BEN": pa.array(np.char.add("01", pick(rng, np.arange(1000000, 1000100).astype(str), len(rows)))),
        "BEN_RES_DPT": pa.array(pop.dept[rows]),
        "BEN_RES_COM": pa.array(np.char.zfill(rng.integers(1, 999, len(rows)).astype(str), 3)),
        "BEN_DTE_INS": days(np.maximum(pop.birth[rows], np.datetime64("2006-01-01"))),
        "BEN_DTE_MAJ": days(np.full(len(rows), last_day)),
    }


ARCHIVED = 0.3  # of the persons' other pseudo-NIRs, those IR_BEN_R no longer holds


def archived(rng: np.random.Generator, rows: dict[str, pa.Array], persons: int) -> tuple[dict, dict]:
    """(IR_BEN_R, IR_BEN_R_ARC): some of the rows after the first `persons` (their other
    pseudo-NIRs) go to the archive, where the persons can still be found by their BEN_IDT_ANO
    (guide CépiDc, chapter 3) and their claims by the pseudo-NIR (base.deviations)."""
    count = len(rows["BEN_NIR_PSA"])
    gone = np.r_[np.zeros(persons, dtype=bool), rng.random(count - persons) < ARCHIVED]
    keep, archive = pa.array(~gone), pa.array(gone)
    return {k: v.filter(keep) for k, v in rows.items()}, {k: v.filter(archive) for k, v in rows.items()}


def long_term_illnesses(rng: np.random.Generator, pop: Population, codes: Codes, start: np.datetime64):
    age = pop.age_on(start)
    has = rng.random(len(pop)) < np.clip(0.02 + age * 0.004, 0, 0.6)
    index = np.flatnonzero(has)
    n = len(index)
    earliest = np.maximum(pop.birth[index], np.datetime64("2005-01-01"))
    span = np.maximum((start - earliest).astype(np.int64), 1)
    begin = earliest + (rng.random(n) * span).astype("timedelta64[D]")
    number = pick(rng, np.array(sorted(ALD_ICD10)), n)
    reason = np.empty(n, dtype=object)
    for ald, prefixes in ALD_ICD10.items():  # a real ICD-10 code of each ALD (some prefixes, as C27, have none)
        rows = number == ald
        pool = codes.icd10[under(codes.icd10, prefixes)]
        reason[rows] = pick(rng, pool, int(rows.sum()))
    return {
        "BEN_NIR_PSA": pop.pseudo_nirs(index, [0]),
        "BEN_RNG_GEM": pa.array(pop.rank[index]),
        "IMB_ALD_DTD": days(begin),
        "IMB_ALD_DTF": days(begin + np.timedelta64(5 * 365, "D")),
        "IMB_ALD_NUM": pa.array(number),
        "IMB_ETM_NAT": pa.array(np.full(n, 41)),
        "MED_MTF_COD": pa.array(reason),
        "INS_DTE": days(begin),
        "UPD_DTE": days(begin),
    }


def practitioners(rng: np.random.Generator, count: int, codes: Codes, year: int) -> tuple[dict, np.ndarray, np.ndarray]:
    # 8 characters, as DA_PRA_R.PFS_PFS_NUM declares them (ER_PRS_F's minimum of 9 is a deviation, base.deviations)
    numbers = (10_000_000 + np.arange(count) * 7 + rng.integers(0, 7, count)).astype(str)
    specialty = np.where(rng.random(count) < 0.55, 1, pick(rng, codes.specialties, count))
    columns = {
        "PFS_PFS_NUM": pa.array(numbers),
        "PFS_PRA_SPE": pa.array(np.char.zfill(specialty.astype(str), 2)),
        "IPP_SEX_COD": pa.array(rng.choice(["1", "2"], count)),
        "IPP_ANN_NAI": pa.array(rng.integers(1950, 1996, count)),
        "DTE_ANN_TRT": pa.array(np.full(count, year)),
        "DTE_MOI_FIN": pa.array(np.full(count, "12")),
        "PFS_COD_POS": digits_ids(rng, count, 5),
        "PFS_EXC_COM": pa.array(np.char.zfill(rng.integers(1, 999, count).astype(str), 3)),
    }
    return columns, numbers, specialty


def drugs(codes: Codes) -> dict[str, pa.Array]:
    """IR_PHA_R, the drug referential: one row per presentation, its CIP13 (PHA_CIP_C13, the key),
    its CIP7 (PHA_PRS_IDE) and its ATC class at 7 and 3 characters (fiches/medicament.md). The real
    file is not public; the codes are: the CIP7 and their class from IR_CIP_V, the CIP13 built
    from them, an ATC7 of that class from Open Medic's nomenclature."""
    atc = codes.atc7
    none = atc == ""
    return {
        "PHA_CIP_C13": pa.array(codes.cip13),
        "PHA_PRS_IDE": pa.array(codes.cip7),
        "PHA_ATC_C07": pa.array(atc, mask=none),
        "PHA_ATC_L07": pa.array([codes.atc7_labels.get(a, "") for a in atc], mask=none),
        "PHA_ATC_C03": pa.array(np.char.ljust(atc, 3).astype("U3"), mask=none),
        "PHA_NOM_COURT": pa.array(np.char.add("PRESENTATION SYNTHETIQUE ", codes.cip7.astype(str))),
    }

"""Deaths as the SNDS holds them, from three sources that do not all know of every death
(documentation-snds, formation_snds/documents_cnam/guide_cepidc/2-Chap2CausesDeces.md):

- IR_BEN_R.BEN_DCD_DTE: some schemes never send the date; it is then, like a living person's,
  forced to 1 January 1600;
- PMSI: a death in hospital ends a stay with SOR_MOD '9' (MS_SOR_V: « Décès ») on the day of death;
- CépiDc (KI_CCI_R, KI_ECD_R): every death has its certificate (DCD_IDT_ENC), but BEN_IDT_ANO
  is filled only when the certificate could be matched to one beneficiary: matching needs the
  referential's date, or, without it, the date a stay ended in death; 80-90 % are matched."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from bastide.base.synth.codes import Codes
from bastide.base.synth.population import Population
from bastide.base.synth.values import (
    days,
    expand,
    formatted,
    unique_ids,
    year_of,
    yearmonth,
)

MISSING_DATE = np.datetime64("1600-01-01")  # IR_BEN_R's « date non renseignée »
NOT_SENT = 0.08  # deaths whose scheme does not send the date to IR_BEN_R
IN_HOSPITAL = 0.5  # deaths during a stay in MCO
MATCHED = 0.9  # certificates matched to a beneficiary, among those that can be


@dataclass(frozen=True)
class DeathRecords:
    """Per person of the population: which sources know of the death."""

    sent: np.ndarray  # the date is in IR_BEN_R
    in_hospital: np.ndarray  # a stay ends in death on that day
    linked: np.ndarray  # the certificate carries the person's BEN_IDT_ANO

    def referential_dates(self, pop: Population) -> np.ndarray:
        return np.where(self.sent, pop.death, MISSING_DATE)

    def dying_in_hospital(self, pop: Population, year: int) -> np.ndarray:
        """Indices of the persons who die in hospital during `year`."""
        return np.flatnonzero(self.in_hospital & (year_of(pop.death) == year))


def death_records(rng: np.random.Generator, pop: Population) -> DeathRecords:
    dead = ~np.isnat(pop.death)
    sent = dead & (rng.random(len(pop)) >= NOT_SENT)
    in_hospital = dead & (rng.random(len(pop)) < IN_HOSPITAL)
    linked = (sent | in_hospital) & (rng.random(len(pop)) < MATCHED)
    return DeathRecords(sent, in_hospital, linked)


def causes_of_death(rng, pop: Population, codes: Codes, records: DeathRecords) -> tuple[dict, dict]:
    index = np.flatnonzero(~np.isnat(pop.death))
    n = len(index)
    death = pop.death[index]
    ids = pa.array(pop.idt.to_numpy(zero_copy_only=False)[index], mask=~records.linked[index])
    certificates = unique_ids(rng, n, 20)
    age = pop.age_on(death, index)
    underlying = codes.diagnoses(rng, pop.sex[index], age)
    cci = {
        "DCD_IDT_ENC": certificates,
        "BEN_IDT_ANO": ids,
        "BEN_IDT_TOP": pa.array(records.linked[index].astype(np.int64)),
        "FLX_PER_ANN": pa.array(year_of(death)),
        "BEN_DCD_DTE": days(death),
        "BEN_DCD_AME": yearmonth(death),
        "BEN_NAI_ANN": pa.array(year_of(pop.birth[index])),
        "BEN_NAI_MOI": formatted(pop.birth[index], "%m"),
        "BEN_SEX_COD": pa.array(pop.sex[index]),
        "BEN_RES_DPT": pa.array(pop.dept[index]),
        "DCD_DPT_COD": pa.array(pop.dept[index]),
        "DCD_CIM_COD": pa.array(underlying),
    }
    lines = np.minimum(1 + rng.poisson(1.0, n), 4)
    rows, rank = expand(lines)
    causes = codes.diagnoses(rng, pop.sex[index][rows], age[rows])
    causes[rank == 1] = underlying[rows[rank == 1]]  # the first line is the underlying cause
    ecd = {
        "DCD_IDT_ENC": certificates.take(pa.array(rows)),
        "BEN_IDT_ANO": ids.take(pa.array(rows)),
        "FLX_PER_ANN": pa.array(year_of(death[rows])),
        "CER_LIG_NUM": pa.array(np.ones(len(rows), dtype=np.int64)),
        "ECD_CAU_RNG": pa.array(rank),
        "ECD_CIM_COD": pa.array(causes),
        "BEN_DCD_DTE": days(death[rows]),
        "BEN_DCD_AME": yearmonth(death[rows]),
    }
    return cci, ecd

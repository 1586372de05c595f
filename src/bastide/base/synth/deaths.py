"""Causes of death (CépiDc): KI_CCI_R one row per death, KI_ECD_R the certificate's causes."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from bastide.base.synth.codes import Codes
from bastide.base.synth.population import Population
from bastide.base.synth.values import days, expand, formatted, pick, year_of, yearmonth


def causes_of_death(rng, pop: Population, codes: Codes) -> tuple[dict, dict]:
    index = np.flatnonzero(~np.isnat(pop.death))
    n = len(index)
    death = pop.death[index]
    ids = pop.idt.take(pa.array(index))
    icd4 = codes.icd10[np.char.str_len(codes.icd10) <= 4]
    underlying = pick(rng, icd4, n)
    cci = {
        "BEN_IDT_ANO": ids,
        "BEN_IDT_TOP": pa.array(np.ones(n, dtype=np.int64)),
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
    causes = pick(rng, icd4, len(rows))
    causes[rank == 1] = underlying[rows[rank == 1]]  # the first line is the underlying cause
    ecd = {
        "BEN_IDT_ANO": ids.take(pa.array(rows)),
        "FLX_PER_ANN": pa.array(year_of(death[rows])),
        "CER_LIG_NUM": pa.array(np.ones(len(rows), dtype=np.int64)),
        "ECD_CAU_RNG": pa.array(rank),
        "ECD_CIM_COD": pa.array(causes),
        "BEN_DCD_DTE": days(death[rows]),
        "BEN_DCD_AME": yearmonth(death[rows]),
    }
    return cci, ecd

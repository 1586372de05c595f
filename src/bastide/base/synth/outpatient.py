"""PMSI MCO outpatient care of public hospitals (ACE, « actes et consultations externes »):
T_MCOaaCSTC (the patient of each visit), T_MCOaaFASTC (the visit's invoice), T_MCOaaFBSTC (the
hospital's charge: emergency, technical and equipment fees) and T_MCOaaFCSTC (the doctors' fees).

Public hospitals bill these directly (T2A) and the DCIR drops them with ETE_IND_TAA 1
(fiches/sas_prestation_dcir.md), so without these tables a public hospital's outpatient care
would be lost. A visit is (year, ETA_NUM, SEQ_NUM): SEQ_NUM numbers an establishment's visits of
the year, as RSA_NUM its stays. Codes are IR_NAT_V's short codes (PRS_NAT_CB2) of such care.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from bastide.base.synth.population import Population
from bastide.base.synth.values import days, expand, formatted, pick, rank_within

CHARGES = np.array(["ATU", "SE1", "FFM", "FTN"])  # IR_NAT_V 2238, 2155, 2338, 2351: the hospital's fees
FEES = np.array(["G", "C", "CS", "APC", "K"])  # IR_NAT_V 1110, 1111, 1112, 1103, 1312: the doctors'
VISITS_PER_YEAR = 0.3
WRONG_CODE = 0.02  # visits whose patient chaining returned an error


def visits(rng: np.random.Generator, pop: Population, eta_numbers: np.ndarray, specialties: np.ndarray,
           year: int) -> dict[str, dict[str, pa.Array]]:
    """The year's four tables, keyed by their folder's suffix (CSTC, FASTC, FBSTC, FCSTC)."""
    index, first, last = pop.alive_span(year)
    who = np.repeat(index, rng.poisson(VISITS_PER_YEAR, len(index)))
    span = np.searchsorted(index, who)  # each visit's person in the year's spans
    start = first[span]
    width = (last[span] - start).astype(np.int64) + 1
    day = start + (rng.random(len(who)) * width).astype("timedelta64[D]")
    n = len(who)
    eta = pick(rng, eta_numbers, n).astype(str)
    seq = np.char.zfill((1 + rank_within(eta)).astype(str), 8)
    visit = {"ETA_NUM": pa.array(eta), "SEQ_NUM": pa.array(seq)}
    patient, rank = pop.pseudo_nirs(who, [year, 3]), pa.array(pop.rank[who].astype(str))
    wrong = rng.random(n) < WRONG_CODE
    age, sex = pop.age_on(day, who), pop.sex[who]
    fees, _line = expand(1 + np.minimum(rng.poisson(0.4, n), 2))
    return {
        "CSTC": {**visit, "NIR_ANO_17": patient, "RNG_NAI": rank,
                 "EXE_SOI_DTD": days(day), "EXE_SOI_DTF": days(day), "ENT_DAT": formatted(day, "%d%m%Y"),
                 "SOR_DAT": formatted(day, "%d%m%Y"),
                 "NIR_RET": pa.array(wrong), "NAI_RET": pa.array(np.zeros(n, dtype=bool)),
                 "SEX_RET": pa.array(np.zeros(n, dtype=bool)), "IAS_RET": pa.array(np.zeros(n, dtype=bool)),
                 "ENT_DAT_RET": pa.array(np.zeros(n, dtype=bool))},
        "FASTC": {**visit, "NIR_ANO_17": patient, "RNG_NAI": rank,
                  "AGE_ANN": pa.array(age), "COD_SEX": pa.array(sex.astype(str)),
                  "SOR_ANN": pa.array(np.full(n, year)), "SOR_MOI": formatted(day, "%m"),
                  "HON_MNT": pa.array(np.round(rng.lognormal(3.2, 0.5, n), 2))},
        "FBSTC": {**visit, "ACT_COD": pa.array(pick(rng, CHARGES, n)), "ACT_NBR": pa.array(np.ones(n, dtype=np.int64)),
                  "DEL_DAT_ENT": pa.array(np.zeros(n, dtype=np.int64)), "SOR_ANN": pa.array(np.full(n, year)),
                  "SOR_MOI": formatted(day, "%m"), "PRI_UNI": pa.array(np.round(rng.lognormal(3.0, 0.6, n), 2))},
        "FCSTC": {"ETA_NUM": pa.array(eta[fees]), "SEQ_NUM": pa.array(seq[fees]),
                  "NIR_ANO_17": patient.take(pa.array(fees)), "ACT_COD": pa.array(pick(rng, FEES, len(fees))),
                  "ACT_NBR": pa.array(np.ones(len(fees), dtype=np.int64)),
                  "DEL_DAT_ENT": pa.array(np.zeros(len(fees), dtype=np.int64)),
                  "EXE_SPE": pa.array(np.char.zfill(pick(rng, specialties, len(fees)).astype(str), 2)),
                  "SOR_ANN": pa.array(np.full(len(fees), year)), "SOR_MOI": formatted(day[fees], "%m"),
                  "HON_MNT": pa.array(np.round(rng.lognormal(3.2, 0.4, len(fees)), 2)),
                  "NIR_RET": pa.array(wrong[fees]), "SEX_RET": pa.array(np.zeros(len(fees), dtype=bool))},
    }

"""PMSI MCO for one year: stays (B), patient link (C), diagnoses (D), acts (A), establishments (E).

Every stay links to its patient through T_MCOaaC.NIR_ANO_17 = IR_BEN_R.BEN_NIR_PSA and
ends before the patient's death. RSA_NUM restarts at 1 every year, as in real deliveries.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from bastide.base.synth.codes import Codes
from bastide.base.synth.population import Population
from bastide.base.synth.values import expand, formatted, pick, yearmonth


def establishments(count: int, year: int, finess: np.ndarray, numbers: np.ndarray) -> dict[str, pa.Array]:
    return {
        "ETA_NUM": pa.array(numbers.astype(str)),
        "ETB_EXE_FIN": pa.array(finess),
        "SOC_RAI": pa.array([f"ETABLISSEMENT SYNTHETIQUE {i:04d}" for i in range(count)]),
        "STA_ETA": pa.array(np.where(np.arange(count) % 3 == 0, "DGF", "OQN")),
        "ANN_TRT": pa.array(np.full(count, str(year))),
    }


def stays(rng, pop: Population, codes: Codes, eta_numbers: np.ndarray, year: int):
    index, first, last = pop.alive_span(year)
    age = pop.age_on(first, index)
    has = rng.random(len(index)) < np.clip(0.04 + age * 0.0025, 0, 0.4)
    who, start_day, end_day = index[has], first[has], last[has]
    n = len(who)
    span = (end_day - start_day).astype(np.int64) + 1
    entry = start_day + (rng.random(n) * span).astype("timedelta64[D]")
    los = np.minimum(rng.geometric(0.3, n) - 1, (end_day - entry).astype(np.int64))
    exit_ = entry + los.astype("timedelta64[D]")
    eta = pick(rng, eta_numbers, n)
    rsa = _numbered_per_establishment(eta)
    stay_age = pop.age_on(entry, who)
    n_dgn = np.minimum(rng.poisson(1.2, n), 6)
    n_act = np.minimum(rng.poisson(0.8, n), 5)
    ghm = np.char.add(
        np.char.add(np.char.zfill(rng.integers(1, 28, n).astype(str), 2), pick(rng, np.array(list("MCKZ")), n)),
        np.char.add(np.char.zfill(rng.integers(1, 99, n).astype(str), 2), pick(rng, np.array(list("1234AZ")), n)),
    )
    stay_b = {
        "ETA_NUM": pa.array(eta),
        "RSA_NUM": pa.array(rsa),
        "DGN_PAL": pa.array(pick(rng, codes.icd10, n)),
        "SEJ_NBJ": pa.array(los),
        "AGE_ANN": pa.array(stay_age, mask=stay_age < 1),
        "COD_SEX": pa.array(pop.sex[who].astype(str)),
        "ENT_MOD": pa.array(np.full(n, "8")),
        "SOR_MOD": pa.array(np.full(n, "8")),
        "SOR_ANN": pa.array(np.full(n, year)),
        "SOR_MOI": formatted(exit_, "%m"),
        "GRG_GHM": pa.array(ghm),
        "GHS_NUM": pa.array(rng.integers(1000, 10000, n)),
        "NBR_DGN": pa.array(n_dgn),
        "NBR_ACT": pa.array(n_act),
    }
    link_c = {
        "ETA_NUM": pa.array(eta),
        "RSA_NUM": pa.array(rsa),
        "NIR_ANO_17": pop.nir.take(pa.array(who)),
        "EXE_SOI_DTD": formatted(entry, "%d%b%Y:%H:%M:%S"),
        "EXE_SOI_DTF": formatted(exit_, "%d%b%Y:%H:%M:%S"),
        "ENT_DAT": formatted(entry, "%d%m%Y"),
        "SOR_DAT": formatted(exit_, "%d%m%Y"),
        "SOR_ANN": pa.array(np.full(n, year)),
        "SOR_MOI": formatted(exit_, "%m"),
        "ENT_AM": yearmonth(entry),
        "SOR_AM": yearmonth(exit_),
        "NIR_RET": pa.array(np.zeros(n, dtype=bool)),
        "NAI_RET": pa.array(np.full(n, "0")),
        "SEX_RET": pa.array(np.zeros(n, dtype=bool)),
        "SEJ_RET": pa.array(np.zeros(n, dtype=bool)),
    }
    return stay_b, link_c, _diagnoses(rng, codes, eta, rsa, n_dgn), _acts(rng, codes, eta, rsa, n_act)


def _numbered_per_establishment(eta: np.ndarray) -> np.ndarray:
    """RSA_NUM: each establishment numbers the RSA of its year's file 1, 2, 3… and starts again the
    next year (fiches/concepts_PMSI.md, « L'identification d'un séjour »: (ETA_NUM, RSA_NUM) within
    the year's T_MCOaaB; fiches/requete_type_pmsi_mco.md: « numéro séquentiel »), so (ETA_NUM,
    RSA_NUM) comes back every year for another stay, as in real deliveries. Ten digits, from
    1000000001: schema-snds declares RSA_NUM an integer of length 10, minimum 1000000000."""
    order = np.argsort(eta, kind="stable")
    ranked = eta[order]
    starts = np.r_[0, np.flatnonzero(ranked[1:] != ranked[:-1]) + 1]
    position = np.arange(len(eta)) - np.repeat(starts, np.diff(np.r_[starts, len(eta)]))
    rsa = np.empty(len(eta), dtype=np.int64)
    rsa[order] = 1_000_000_001 + position
    return rsa


def _per_stay(eta, rsa, counts) -> tuple[dict[str, pa.Array], np.ndarray]:
    """The stay key (as text, as D and A declare it) repeated for each of a stay's lines."""
    index, line = expand(counts)
    return {"ETA_NUM": pa.array(eta[index].astype(str)), "RSA_NUM": pa.array(rsa[index].astype(str))}, line


def _diagnoses(rng, codes: Codes, eta, rsa, counts) -> dict[str, pa.Array]:
    columns, line = _per_stay(eta, rsa, counts)
    return {**columns, "ASS_DGN": pa.array(pick(rng, codes.icd10, len(line))), "DGN_ASS_NUM": pa.array(line)}


def _acts(rng, codes: Codes, eta, rsa, counts) -> dict[str, pa.Array]:
    columns, line = _per_stay(eta, rsa, counts)
    return {**columns, "CDC_ACT": pa.array(pick(rng, codes.ccam, len(line))),
            "NBR_EXE_ACT": pa.array(np.ones(len(line), dtype=np.int64))}

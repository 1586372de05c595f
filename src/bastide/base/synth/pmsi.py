"""PMSI MCO for one year: stays (B), patient link (C), diagnoses (D), acts (A), medical units
(UM), establishments (E).

Every stay links to its patient through T_MCOaaC.NIR_ANO_17 = IR_BEN_R.BEN_NIR_PSA and
ends by the patient's death; a death in hospital ends its stay on the day of death with SOR_MOD
'9' (MS_SOR_V « Décès »). RSA_NUM restarts every year, as in real deliveries.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from bastide.analytics.pmsi import DUPLICATE_FINESS
from bastide.base.deviations import (
    PLACEHOLDER_NIR,  # NIR_ANO_17 when the patient is unknown
)
from bastide.base.synth.codes import Codes
from bastide.base.synth.population import Population
from bastide.base.synth.values import (
    append_rows,
    expand,
    formatted,
    pick,
    rank_within,
    yearmonth,
)


def establishments(count: int, year: int, finess: np.ndarray, numbers: np.ndarray) -> dict[str, pa.Array]:
    return {
        "ETA_NUM": pa.array(numbers.astype(str)),
        "ETB_EXE_FIN": pa.array(finess),
        "SOC_RAI": pa.array([f"ETABLISSEMENT SYNTHETIQUE {i:04d}" for i in range(count)]),
        "STA_ETA": pa.array(np.where(np.arange(count) % 3 == 0, "DGF", "OQN")),
        "ANN_TRT": pa.array(np.full(count, str(year))),
    }


def _ordinary(rng, pop: Population, year: int):
    """(patients, entry, exit) of the year's stays that end alive."""
    index, first, last = pop.alive_span(year)
    age = pop.age_on(first, index)
    has = rng.random(len(index)) < np.clip(0.04 + age * 0.0025, 0, 0.4)
    who, start_day, end_day = index[has], first[has], last[has]
    span = (end_day - start_day).astype(np.int64) + 1
    entry = start_day + (rng.random(len(who)) * span).astype("timedelta64[D]")
    los = np.minimum(rng.geometric(0.3, len(who)) - 1, (end_day - entry).astype(np.int64))
    return who, entry, entry + los.astype("timedelta64[D]")


def _terminal(rng, pop: Population, year: int, dying: np.ndarray):
    """(patients, entry, exit) of the stays that end in death: exit on the day of death."""
    exit_ = pop.death[dying]
    earliest = np.maximum(pop.birth[dying], np.datetime64(f"{year}-01-01"))
    entry = np.maximum(exit_ - (rng.geometric(0.15, len(dying)) - 1).astype("timedelta64[D]"), earliest)
    return dying, entry, exit_


def stays(rng, pop: Population, codes: Codes, eta_numbers: np.ndarray, year: int, dying: np.ndarray):
    """The year's B, C, D and A tables; `dying`: the persons who die in hospital this year."""
    ordinary, terminal = _ordinary(rng, pop, year), _terminal(rng, pop, year, dying)
    who, entry, exit_ = (np.concatenate(parts) for parts in zip(ordinary, terminal, strict=True))
    n, los = len(who), (exit_ - entry).astype(np.int64)
    discharge = np.where(np.arange(n) < len(ordinary[0]), "8", "9")  # MS_SOR_V: 8 domicile, 9 décès
    eta = pick(rng, eta_numbers, n)
    rsa = _numbered_per_establishment(eta)
    stay_age = pop.age_on(entry, who)
    n_dgn = np.minimum(rng.poisson(1.2, n), 6)
    n_act = np.minimum(rng.poisson(0.8, n), 5)
    n_units = 1 + np.minimum(np.random.default_rng([year, n, 15]).poisson(0.3, n), 3)  # own stream
    ghm, stay_type = _grouping(rng, codes, n)
    codes_c, patient = _chaining(rng, n, pop.pseudo_nirs(who, [year, 2]))
    stay_b = {
        "ETA_NUM": pa.array(eta),
        "RSA_NUM": pa.array(rsa),
        "DGN_PAL": pa.array(codes.diagnoses(rng, pop.sex[who], stay_age)),
        "SEJ_NBJ": pa.array(los),
        "AGE_ANN": pa.array(stay_age, mask=stay_age < 1),
        "COD_SEX": pa.array(pop.sex[who].astype(str)),
        "ENT_MOD": pa.array(np.full(n, "8")),
        "SOR_MOD": pa.array(discharge),
        "SOR_ANN": pa.array(np.full(n, year)),
        "SOR_MOI": formatted(exit_, "%m"),
        "GRG_GHM": pa.array(ghm),
        "SEJ_TYP": pa.array(stay_type, mask=stay_type == ""),
        "GHS_NUM": pa.array(rng.integers(1000, 10000, n)),
        "NBR_DGN": pa.array(n_dgn),
        "NBR_ACT": pa.array(n_act),
        "NBR_RUM": pa.array(n_units),
    }
    link_c = {
        "ETA_NUM": pa.array(eta),
        "RSA_NUM": pa.array(rsa),
        "NIR_ANO_17": patient,
        "RNG_NAI": pa.array(pop.rank[who]),  # the birth rank, which tells twins apart (fiche_beneficiaire.md)
        "EXE_SOI_DTD": formatted(entry, "%d%b%Y:%H:%M:%S"),
        "EXE_SOI_DTF": formatted(exit_, "%d%b%Y:%H:%M:%S"),
        "ENT_DAT": formatted(entry, "%d%m%Y"),
        "SOR_DAT": formatted(exit_, "%d%m%Y"),
        "SOR_ANN": pa.array(np.full(n, year)),
        "SOR_MOI": formatted(exit_, "%m"),
        "ENT_AM": yearmonth(entry),
        "SOR_AM": yearmonth(exit_),
        **codes_c,
    }
    units = _units(np.random.default_rng([year, n, 16]), codes, eta, rsa, n_units, stay_b["DGN_PAL"], pop.sex[who],
                   stay_age, los)
    return stay_b, link_c, _diagnoses(rng, codes, eta, rsa, n_dgn, pop.sex[who], stay_age), \
        _acts(rng, codes, eta, rsa, n_act), units


SESSIONS, ERRORS, INTER_FACILITY = 0.04, 0.005, 0.02  # shares of a year's RSA
STAY_COLUMNS = ("ETA_NUM", "RSA_NUM")
UNCHAINED, MISCHAINED = 0.01, 0.02  # RSA with a placeholder patient; with a non-zero return code
RETURN_CODES = {"NIR_RET": bool, "NAI_RET": str, "SEX_RET": bool, "SEJ_RET": bool, "FHO_RET": bool,
                "PMS_RET": bool, "DAT_RET": str, "COH_NAI_RET": bool, "COH_SEX_RET": bool}  # schema-snds types


def _grouping(rng, codes: Codes, n: int) -> tuple[np.ndarray, np.ndarray]:
    """(GRG_GHM, SEJ_TYP): real GHM (MS_GM9_V), with sessions (CMD 28) and grouping errors (CMD 90)
    among them as in real files, and some inter-facility services (SEJ_TYP 'B'), half of them sessions."""
    draw = rng.random(n)
    ghm = np.where(draw < SESSIONS, pick(rng, codes.sessions, n),
                   np.where(draw < SESSIONS + ERRORS, pick(rng, codes.ghm_errors, n), pick(rng, codes.ghm, n)))
    inter = (rng.random(n) < INTER_FACILITY / 2) | ((draw < SESSIONS) & (rng.random(n) < INTER_FACILITY / 2 / SESSIONS))
    return ghm, np.where(inter, "B", "")


def _chaining(rng, n: int, patients: pa.Array) -> tuple[dict[str, pa.Array], pa.Array]:
    """T_MCOaaC's return codes and NIR_ANO_17: most RSA chained without error; some with one
    code in error (fiches/requete_type_pmsi_mco.md lists them), some with a placeholder patient
    (fiches/fiche_beneficiaire.md), half of those with every code at '0' all the same."""
    draw = rng.random(n)
    unknown = draw < UNCHAINED
    faulty = (draw >= UNCHAINED) & (draw < UNCHAINED + MISCHAINED) | unknown & (rng.random(n) < 0.5)
    which = rng.integers(0, len(RETURN_CODES), n)
    columns = {}
    for i, (name, kind) in enumerate(RETURN_CODES.items()):
        wrong = faulty & (which == i) | unknown & faulty & (name == "NIR_RET")
        columns[name] = pa.array(wrong if kind is bool else np.where(wrong, "1", "0"))
    ids = np.where(unknown, pick(rng, np.array(PLACEHOLDER_NIR), n), patients.to_numpy(zero_copy_only=False))
    return columns, pa.array(ids)


def _numbered_per_establishment(eta: np.ndarray) -> np.ndarray:
    """RSA_NUM: each establishment numbers the RSA of its year's file 1, 2, 3… and starts again the
    next year (fiches/concepts_PMSI.md, « L'identification d'un séjour »: (ETA_NUM, RSA_NUM) within
    the year's T_MCOaaB; fiches/requete_type_pmsi_mco.md: « numéro séquentiel »), so (ETA_NUM,
    RSA_NUM) comes back every year for another stay, as in real deliveries. Ten digits, from
    1000000001: schema-snds declares RSA_NUM an integer of length 10, minimum 1000000000."""
    return 1_000_000_001 + rank_within(eta)


def _per_stay(eta, rsa, counts) -> tuple[dict[str, pa.Array], np.ndarray]:
    """The stay key (as text, as D and A declare it) repeated for each of a stay's lines."""
    index, line = expand(counts)
    return {"ETA_NUM": pa.array(eta[index].astype(str)), "RSA_NUM": pa.array(rsa[index].astype(str))}, line


def _diagnoses(rng, codes: Codes, eta, rsa, counts, sex, age) -> dict[str, pa.Array]:
    columns, line = _per_stay(eta, rsa, counts)
    stay = np.repeat(np.arange(len(counts)), counts)
    return {**columns, "ASS_DGN": pa.array(codes.diagnoses(rng, sex[stay], age[stay])), "DGN_ASS_NUM": pa.array(line)}


def _acts(rng, codes: Codes, eta, rsa, counts) -> dict[str, pa.Array]:
    columns, line = _per_stay(eta, rsa, counts)
    return {**columns, "CDC_ACT": pa.array(pick(rng, codes.ccam, len(line))),
            "NBR_EXE_ACT": pa.array(np.ones(len(line), dtype=np.int64))}


def _units(rng, codes: Codes, eta, rsa, counts, main: pa.Array, sex, age, los) -> dict[str, pa.Array]:
    """T_MCOaaUM: a row per medical unit the stay went through (RUM), each with its own main
    diagnosis (fiches/requete_type_pmsi_mco.md: « une ligne par diagnostic principal d'UM »); the
    first unit's is the stay's, the others' are the units' own, and the days are shared out."""
    columns, line = _per_stay(eta, rsa, counts)
    stay = np.repeat(np.arange(len(counts)), counts)
    first = line == 1
    dgn = codes.diagnoses(rng, sex[stay], age[stay])
    dgn[first] = main.to_numpy(zero_copy_only=False)
    share, rest = np.divmod(los, counts)
    days = share[stay] + np.where(first, rest[stay], 0)
    return {**columns, "UM_ORD_NUM": pa.array(line), "DGN_PAL": pa.array(dgn), "PAR_DUR_SEJ": pa.array(days)}


RESENT = 0.3  # of the legal establishment's stays, sent again under a geographic FINESS until 2017
LAST_RESENT_YEAR = 2017


def resent_under_geographic_finess(rng, tables: dict[str, dict[str, pa.Array]], legal: int) -> None:
    """Until 2017, AP-HP, AP-HM and HCL sent their stays under their legal FINESS and again under
    geographic ones (documentation-snds, « transmission en double dans le PMSI »; the list of
    analytics.pmsi.DUPLICATE_FINESS): some stays of the `legal` establishment come again, every
    table's rows with them, under one of those numbers, numbered as its own RSA."""
    b = tables["B"]
    eta, rsa = (b[k].to_numpy(zero_copy_only=False) for k in STAY_COLUMNS)
    rows = np.flatnonzero((eta == legal) & (rng.random(len(eta)) < RESENT))
    geographic = pick(rng, np.array(DUPLICATE_FINESS).astype(np.int64), len(rows))
    numbers = 1_000_000_001 + rank_within(geographic)
    again = {(str(e), str(r)): (g, n) for e, r, g, n in zip(eta[rows], rsa[rows], geographic, numbers, strict=True)}
    for columns in tables.values():
        keys = list(zip(*(np.asarray(columns[k].to_numpy(zero_copy_only=False)).astype(str) for k in STAY_COLUMNS),
                        strict=True))
        lines = np.array([i for i, key in enumerate(keys) if key in again], dtype=np.int64)
        moved = [again[keys[i]] for i in lines]
        # B and C hold the keys as integers, D, A and UM as text: each keeps its own type
        append_rows(columns, lines, {k: pa.array([m[j] for m in moved]).cast(columns[k].type)
                                     for j, k in enumerate(STAY_COLUMNS)})

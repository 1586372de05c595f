"""DCIR: ER_PRS_F prestations and their detail tables, linked by the 9 join keys.

Each prestation gets a unique (DCT_ORD_NUM, FLX_EMT_ORD) inside its flux, so the
9-column key is unique; every detail row copies its parent's 9 keys.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from bastide.base.synth.codes import Codes
from bastide.base.synth.population import Population
from bastide.base.synth.values import append_rows, days, expand, month_start, pick

KINDS = ("consultation", "pharmacy", "biology", "ccam", "hospital", "device")
KIND_WEIGHTS = (0.40, 0.30, 0.12, 0.11, 0.05, 0.02)
MEAN_AMOUNT = (25.0, 32.0, 18.0, 70.0, 650.0, 45.0)
CANCELLED = 0.02  # prestations cancelled by a later flux
# the detail quantities that carry their sign (« quantité affinée signée », schema-snds); the others,
# and ER_PRS_F.PRS_ACT_QTE (minimum 0), are unsigned: BSE_REM_SGN says the sign (IR_SGN_V: 1 positive, 2 negative)
SIGNED = {"ER_PHA_F": "PHA_ACT_QSN", "ER_BIO_F": "BIO_ACT_QSN", "ER_TIP_F": "TIP_ACT_QSN"}
LATE = 0.04  # care paid 3 to 12 months later (sas_prestation_dcir.md: read 6 more flux months for a care year)
KEYS = ("DCT_ORD_NUM", "FLX_DIS_DTD", "FLX_EMT_NUM", "FLX_EMT_ORD", "FLX_EMT_TYP",
        "FLX_TRT_DTD", "ORG_CLE_NUM", "PRS_ORD_NUM", "REM_TYP_AFF")


@dataclass
class Practice:
    numbers: np.ndarray  # DA_PRA_R.PFS_PFS_NUM
    specialty: np.ndarray
    finess: np.ndarray  # establishments' FINESS numbers


def _repeat_lines(rng: np.random.Generator, parents: np.ndarray, extra_mean: float, most: int):
    """Parents repeated 1+Poisson(extra_mean) times (at most `most`), with a 1-based line number."""
    index, line = expand(np.minimum(1 + rng.poisson(extra_mean, len(parents)), most))
    return parents[index], line


def prestations(rng, pop: Population, codes: Codes, practice: Practice, year: int, serial: int):
    index, first, last = pop.alive_span(year)
    age = pop.age_on(first, index)
    counts = rng.poisson(2.0 + age / 18.0)
    who = np.repeat(index, counts)
    span = np.repeat((last - first).astype(np.int64) + 1, counts)
    care = np.repeat(first, counts) + (rng.random(len(who)) * span).astype("timedelta64[D]")
    delay = rng.choice(3, len(who), p=[0.3, 0.5, 0.2])
    late = np.random.default_rng([year, serial, 15])  # the long tail, from a stream of its own
    tail = late.random(len(who)) < LATE
    delay = np.where(tail, 3 + np.minimum(late.geometric(0.3, len(who)) - 1, 9), delay)
    flux = (care.astype("datetime64[M]") + delay).astype("datetime64[D]")
    order = np.argsort(flux, kind="stable")
    who, care, flux = who[order], care[order], flux[order]
    n = len(who)
    kind = rng.choice(len(KINDS), n, p=KIND_WEIGHTS)
    nature = np.empty(n, dtype=np.int64)
    for k, name in enumerate(KINDS):
        mask = kind == k
        nature[mask] = pick(rng, codes.natures[name], int(mask.sum()))
    amount = np.round(rng.lognormal(0, 0.6, n) * np.array(MEAN_AMOUNT)[kind], 2)
    doctor = rng.integers(0, len(practice.numbers), n)
    seq = serial + np.arange(n, dtype=np.int64)
    keys = {
        "DCT_ORD_NUM": pa.array(seq % 100_000_000),
        "FLX_DIS_DTD": days(flux),
        "FLX_EMT_NUM": pa.array(rng.integers(1, 21, n)),
        "FLX_EMT_ORD": pa.array(seq // 100_000_000),
        "FLX_EMT_TYP": pa.array(np.ones(n, dtype=np.int64)),
        "FLX_TRT_DTD": days(flux - rng.integers(1, 15, n).astype("timedelta64[D]")),
        "ORG_CLE_NUM": pa.array(np.char.add("0175", np.char.zfill(rng.integers(0, 100, n).astype(str), 5))),
        "PRS_ORD_NUM": pa.array(np.ones(n, dtype=np.int64)),
        "REM_TYP_AFF": pa.array(np.ones(n, dtype=np.int64)),
    }
    prs = dict(keys)
    prs.update({
        "BEN_NIR_PSA": pop.pseudo_nirs(who, [year, 1]),
        "BEN_RNG_GEM": pa.array(pop.rank[who]),
        "BEN_CDI_NIR": pa.array(pop.cdi[who]) if pop.cdi is not None else pa.nulls(n, pa.string()),
        "BEN_SEX_COD": pa.array(pop.sex[who]),
        "BEN_NAI_ANN": pa.array(pop.birth[who].astype("datetime64[Y]").astype(np.int64) + 1970),
        "BEN_AMA_COD": pa.array(pop.age_on(care, who)),
        "BEN_RES_DPT": pa.array(pop.dept[who]),
        "EXE_SOI_DTD": days(care),
        "EXE_SOI_DTF": days(care),
        "PRS_NAT_REF": pa.array(nature),
        "PSE_SPE_COD": pa.array(practice.specialty[doctor]),
        "PFS_EXE_NUM": pa.array(practice.numbers[doctor]),
        "PRS_ACT_QTE": pa.array(np.ones(n)),
        "PRS_PAI_MNT": pa.array(amount),
        "ORG_CLE_NEW": keys["ORG_CLE_NUM"],
        "BSE_PRS_NAT": pa.array(nature),
        "BSE_REM_SGN": pa.array(np.ones(n, dtype=np.int64)),
    })
    details, parents = _details(rng, codes, practice, keys, kind)
    # what the standard filters remove, drawn from a stream of its own (the rest stays as it was)
    extra = np.random.default_rng([year, serial])
    prs["DPN_QLF"] = pa.array(np.where(extra.random(n) < 0.03, 71, 0))  # information-only lines
    prs["PRS_DPN_QLP"] = prs["DPN_QLF"]
    prs["CPL_MAJ_TOP"] = pa.array(np.where(extra.random(n) < 0.05, 2, 0))  # supplements, majorations
    ete = details["ER_ETE_F"]
    ete["ETE_IND_TAA"] = pa.array(np.where(extra.random(len(ete["ETE_IND_TAA"])) < 0.35, 1, 0))  # direct T2A
    added = _regularise(extra, prs, details, parents, serial + n)
    return prs, details, serial + n + added


def _regularise(rng, prs: dict, details: dict[str, dict], parents: dict[str, np.ndarray], serial: int) -> int:
    """About 2 % of prestations, of every kind, are cancelled by a later flux: the same prestation
    again, new keys a month later, a negative amount and sign (BSE_REM_SGN 2), and each of its
    detail lines again with its signed quantity negative (the lines that netting removes).
    PRS_ACT_QTE stays positive: the schema gives it a minimum of 0, the sign says the rest."""
    cancelled = np.flatnonzero(rng.random(len(prs["BSE_REM_SGN"])) < CANCELLED)
    if not len(cancelled):
        return 0
    seq = serial + np.arange(len(cancelled), dtype=np.int64)
    later = month_start(prs["FLX_DIS_DTD"].to_numpy(zero_copy_only=False)[cancelled] + np.timedelta64(31, "D"))
    new_keys = {"DCT_ORD_NUM": pa.array(seq % 100_000_000), "FLX_EMT_ORD": pa.array(seq // 100_000_000),
                "FLX_DIS_DTD": days(later), "FLX_TRT_DTD": days(later - np.timedelta64(3, "D"))}
    append_rows(prs, cancelled, {**new_keys, "PRS_PAI_MNT": pc.negate(prs["PRS_PAI_MNT"].take(cancelled)),
                             "BSE_REM_SGN": pa.array(np.full(len(cancelled), 2))})
    for table, columns in details.items():  # each cancelled prestation's lines, with its new keys
        lines = np.flatnonzero(np.isin(parents[table], cancelled))
        parent = pa.array(np.searchsorted(cancelled, parents[table][lines]))
        replaced = {k: v.take(parent) for k, v in new_keys.items()}
        if table in SIGNED:
            replaced[SIGNED[table]] = pc.negate(columns[SIGNED[table]].take(pa.array(lines)))
        append_rows(columns, lines, replaced)
    return len(cancelled)


def _with_keys(keys: dict[str, pa.Array], index: np.ndarray, columns: dict) -> dict:
    taken = pa.array(index)
    out = {name: keys[name].take(taken) for name in KEYS}
    out["ORG_CLE_NEW"] = out["ORG_CLE_NUM"]
    out.update(columns)
    return out


def _details(rng, codes: Codes, practice: Practice, keys: dict,
             kind: np.ndarray) -> tuple[dict[str, dict], dict[str, np.ndarray]]:
    """The detail tables, and the prestation of each of their lines."""
    pha, pha_line = _repeat_lines(rng, np.flatnonzero(kind == 1), 0.8, 5)
    drug = rng.integers(0, len(codes.cip7), len(pha))
    bio, bio_line = _repeat_lines(rng, np.flatnonzero(kind == 2), 1.5, 8)
    cam = np.flatnonzero(kind == 3)
    ete = np.flatnonzero(kind == 4)
    parents = {"ER_PHA_F": pha, "ER_BIO_F": bio, "ER_CAM_F": cam, "ER_ETE_F": ete}
    details = {
        "ER_PHA_F": _with_keys(keys, pha, {
            "PHA_PRS_IDE": pa.array(codes.cip7[drug]),  # both codes, as from 2007 (fiches/medicament.md)
            "PHA_PRS_C13": pa.array(codes.cip13[drug]),
            "PHA_ACT_QSN": pa.array(rng.integers(1, 4, len(pha))),
            "PHA_ACT_PRU": pa.array(np.round(rng.lognormal(2.3, 0.8, len(pha)), 2)),
            "PHA_ORD_NUM": pa.array(pha_line),
        }),
        "ER_BIO_F": _with_keys(keys, bio, {
            "BIO_PRS_IDE": pa.array(pick(rng, codes.biology, len(bio))),
            "BIO_ACT_QSN": pa.array(np.ones(len(bio), dtype=np.int64)),
            "BIO_ORD_NUM": pa.array(bio_line),
        }),
        "ER_CAM_F": _with_keys(keys, cam, {
            "CAM_PRS_IDE": pa.array(pick(rng, codes.ccam, len(cam))),
            "CAM_ACT_PRU": pa.array(np.round(rng.lognormal(3.8, 0.7, len(cam)), 2)),
            "CAM_ORD_NUM": pa.array(np.ones(len(cam), dtype=np.int64)),
        }),
        "ER_ETE_F": _with_keys(keys, ete, {
            "ETB_EXE_FIN": pa.array(pick(rng, practice.finess, len(ete))),
            "ETE_IND_TAA": pa.array(np.ones(len(ete), dtype=np.int64)),
            "ETE_TYP_COD": pa.array(rng.choice([1, 2, 3], len(ete))),
        }),
    }
    for table, (lines, columns) in _hospital_drugs_and_devices(rng, codes, keys, kind).items():
        parents[table], details[table] = lines, columns
    return details, parents


def _hospital_drugs_and_devices(rng, codes: Codes, keys: dict, kind: np.ndarray) -> dict[str, tuple]:
    """ER_UCD_F: drugs a hospital dispenses by unit (UCD, NU_UCD_R), billed on top of some stays
    (« en sus du GHS », IR_TCU_V 1); ER_TIP_F: the LPP devices (IR_LPP_V) of device prestations,
    bought or rented (IR_PRF_V 1, 3). Both are joined by the flattening (fiches/sas_prestation_dcir.md)."""
    stays = np.flatnonzero(kind == 4)
    ucd, ucd_line = _repeat_lines(rng, stays[rng.random(len(stays)) < 0.4], 0.5, 4)
    tip, tip_line = _repeat_lines(rng, np.flatnonzero(kind == 5), 0.3, 3)
    return {
        "ER_UCD_F": (ucd, _with_keys(keys, ucd, {
            "UCD_UCD_COD": pa.array(pick(rng, codes.ucd, len(ucd))),
            "UCD_DLV_NBR": pa.array(rng.integers(1, 6, len(ucd))),
            "UCD_TOP_UCD": pa.array(np.ones(len(ucd), dtype=np.int64)),
            "UCD_FAC_PRU": pa.array(np.round(rng.lognormal(5.0, 1.0, len(ucd)), 2)),
            "UCD_ORD_NUM": pa.array(ucd_line),
            "UCD_LGN_NUM": pa.array(ucd_line),
        })),
        "ER_TIP_F": (tip, _with_keys(keys, tip, {
            "TIP_PRS_IDE": pa.array(pick(rng, codes.lpp, len(tip))),
            "TIP_ACT_QSN": pa.array(rng.integers(1, 4, len(tip))),
            "TIP_PRS_TYP": pa.array(rng.choice([1, 3], len(tip))),
            "TIP_ACT_PRU": pa.array(np.round(rng.lognormal(3.0, 0.9, len(tip)), 2)),
            "TIP_ORD_NUM": pa.array(tip_line),
        })),
    }

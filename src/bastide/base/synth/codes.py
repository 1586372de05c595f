"""Real codes drawn from the shipped SNDS nomenclatures (ICD-10, CCAM, CIP, biology...)."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache, cached_property
from pathlib import Path

import numpy as np

from bastide.base.synth.values import pick

NOMENCLATURES = Path(__file__).parent.parent / "snds_schema" / "nomenclatures"

# Prestation natures (IR_NAT_V) per kind of care; each is checked against the file.
NATURES = {
    "consultation": (1110, 1111, 1112),
    "pharmacy": (3311, 3312, 3313),
    "biology": (2413, 3222),
    "ccam": (1321, 1324, 1351),
    "hospital": (2211,),
    "device": (3511, 3513, 3514, 3515, 3521),  # LPP: respiratory aids, braces, dressings, orthoses
}


def _column(file: str, column: str, *, quoted: bool = False) -> list[str]:
    with open(NOMENCLATURES / file, encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh, delimiter=";", quotechar='"' if quoted else "\x00")
        return [row[column].strip() for row in reader if row.get(column)]


@dataclass(frozen=True)
class Codes:
    icd10: np.ndarray  # ICD-10 codes of 3-4 characters, as PMSI and CépiDc write them
    ccam: np.ndarray
    cip7: np.ndarray
    biology: np.ndarray
    departments: np.ndarray
    specialties: np.ndarray
    natures: dict[str, np.ndarray]
    ghm: np.ndarray  # GHM of ordinary stays (MS_GM9_V, CMD 01-27)
    sessions: np.ndarray  # CMD 28: sessions (dialysis, chemotherapy, radiotherapy, transfusion…)
    ghm_errors: np.ndarray  # CMD 90: errors of the grouping
    cip13: np.ndarray  # the CIP13 of each cip7 (same order)
    atc7: np.ndarray  # the 7-character ATC of each cip7, "" when its class has none
    atc7_labels: dict[str, str]
    ucd: np.ndarray  # hospital drugs (NU_UCD_R), 13 characters as the referential writes them
    lpp: np.ndarray  # devices of the LPP (IR_LPP_V)


    def diagnoses(self, rng: np.random.Generator, sex: np.ndarray, age: np.ndarray) -> np.ndarray:
        """An ICD-10 code per patient, plausible for their sex and age: pregnancy (chapter O) for
        women of 15 to 49 only, perinatal conditions (P) for infants, the genital organs' diseases
        and cancers of one sex for that sex only (ICD-10 chapters XIV, XV, XVI, II)."""
        n = len(sex)
        out = pick(rng, self._pool("other"), n)
        draw = rng.random(n)
        for pool, who, share in (("pregnancy", (sex == 2) & (age >= 15) & (age <= 49), 0.08),
                                 ("perinatal", age < 1, 0.3), ("male", sex == 1, 0.02), ("female", sex == 2, 0.03)):
            chosen = who & (draw < share)
            out[chosen] = pick(rng, self._pool(pool), int(chosen.sum()))
            draw = np.where(chosen, 1.0, draw)  # one override at most
        return out

    def _pool(self, kind: str) -> np.ndarray:
        return self._pools[kind]

    @cached_property
    def _pools(self) -> dict[str, np.ndarray]:
        return _pools_of(self.icd10)


def _pools_of(codes: np.ndarray) -> dict[str, np.ndarray]:
    """The ICD-10 codes by whom they can concern."""
    male = under(codes, [*(f"N{n}" for n in range(40, 52)), "C60", "C61", "C62", "C63"])
    female = under(codes, [*(f"N{n}" for n in range(70, 99)), *(f"C{n}" for n in range(51, 59))])
    pregnancy, perinatal = under(codes, ["O"]), under(codes, ["P"])
    return {"other": codes[~(male | female | pregnancy | perinatal)], "male": codes[male], "female": codes[female],
            "pregnancy": codes[pregnancy], "perinatal": codes[perinatal]}


def under(icd10: np.ndarray, prefixes) -> np.ndarray:
    """Which codes start with one of the prefixes."""
    return np.logical_or.reduce([np.char.startswith(icd10, p) for p in prefixes])


# The ICD-10 codes of each long-term illness (IR_ALD_V's list of 30, décret 2011-77), for the
# synthetic IR_IMB_R: an ALD number and its medical reason agree, as in the base
ALD_ICD10 = {1: ("I60", "I61", "I63", "I64"), 3: ("I70",), 5: ("I50",), 6: ("K70", "K74"), 7: ("B20", "B24"),
             8: ("E10", "E11"), 9: ("G40",), 12: ("I10",), 13: ("I20", "I21", "I25"), 14: ("J44", "J96"),
             15: ("G30", "F00", "F01", "F03"), 16: ("G20",), 18: ("E84",), 19: ("N18",), 22: ("M05", "M06"),
             23: ("F20", "F31", "F32", "F33"), 24: ("K50", "K51"), 25: ("G35",), 29: ("A15", "A16"),
             30: tuple(f"C{n:02d}" for n in range(0, 97))}


def cip13_of(cip7: np.ndarray) -> np.ndarray:
    """The CIP13 of CIP7 codes: the French prefix 3400, 9, the CIP7, and an EAN-13 check digit
    (fiches/medicament.md, « Construction des codes CIP 13 »)."""
    twelve = np.char.add("34009", np.char.zfill(cip7.astype(str), 7))
    digits = np.array([list(t) for t in twelve], dtype=np.int64).reshape(len(twelve), 12)
    total = digits[:, 0::2].sum(axis=1) + 3 * digits[:, 1::2].sum(axis=1)
    return np.char.add(twelve, ((10 - total % 10) % 10).astype(str)).astype(np.int64)


def _atc7_of(cip7: list[int], classes: list[str], atc7: list[str]) -> np.ndarray:
    """A real ATC7 for each drug, within the class IR_CIP_V gives it (its first 3 characters),
    chosen by the CIP so that the referential is the same for every seed."""
    by_class: dict[str, list[str]] = {}
    for code in sorted(atc7):
        by_class.setdefault(code[:3], []).append(code)
    return np.array([by_class[c][n % len(by_class[c])] if c in by_class else "" for n, c in zip(cip7, classes,
                                                                                             strict=True)])


@cache
def load_codes() -> Codes:
    icd = [c for c in _column("IR_CIM_V.csv", "CIM_COD") if 3 <= len(c) <= 4 and c.isalnum()]
    ccam = [c for c in _column("IR_CCAM_V63.csv", "CAM_PRS_IDE_COD", quoted=True) if len(c) == 7]
    drugs = [(int(c), k) for c, k in zip(_column("IR_CIP_V.csv", "PHA_PRS_IDE"), _column("IR_CIP_V.csv", "PHA_ATC_CLA"),
                                         strict=True) if c.isdigit() and len(c) <= 7]
    cip = [c for c, _k in drugs]
    labels = dict(zip(_column("openmedic_ATC5.csv", "ATC5"), _column("openmedic_ATC5.csv", "Libellé ATC5"),
                      strict=True))
    bio = [int(c) for c in _column("IR_BIO_R.csv", "BIO_PRS_IDE") if c.isdigit() and len(c) <= 4]
    dpt = [c for c in _column("IR_DPT_V.csv", "GEO_DPT_COD") if len(c) == 3 and c not in ("000", "999")]
    spe = [int(c) for c in _column("IR_SPE_V.csv", "PFS_SPE_COD") if c.isdigit() and 0 < int(c) < 99]
    known = {int(c) for c in _column("IR_NAT_V.csv", "PRS_NAT") if c.isdigit()}
    ghm = [c for c in _column("MS_GM9_V.csv", "GM9_GHM_COD") if len(c) == 6 and c[:2].isdigit()]
    for kind, codes in NATURES.items():
        missing = set(codes) - known
        if missing:  # pragma: no cover - guards the shipped nomenclature
            raise RuntimeError(f"IR_NAT_V lacks {kind} natures {sorted(missing)}")
    return Codes(
        icd10=np.array(icd),
        ccam=np.array(ccam),
        cip7=np.array(cip, dtype=np.int64),
        biology=np.array(bio, dtype=np.int64),
        departments=np.array(dpt),
        specialties=np.array(spe, dtype=np.int64),
        natures={k: np.array(v, dtype=np.int64) for k, v in NATURES.items()},
        ghm=np.array([c for c in ghm if c[:2] < "28"]),
        sessions=np.array([c for c in ghm if c.startswith("28")]),
        ghm_errors=np.array([c for c in ghm if c.startswith("90")]),
        cip13=cip13_of(np.array(cip, dtype=np.int64)),
        atc7=_atc7_of(cip, [k for _c, k in drugs], [c for c in labels if len(c) == 7]),
        atc7_labels={c: v for c, v in labels.items() if len(c) == 7},
        ucd=np.array(_column("NU_UCD_R.csv", "UCD_UCD_COD")),
        lpp=np.array([int(c) for c in _column("IR_LPP_V.csv", "LPP_COD") if c.isdigit()], dtype=np.int64),
    )

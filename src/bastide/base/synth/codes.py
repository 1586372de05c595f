"""Real codes drawn from the shipped SNDS nomenclatures (ICD-10, CCAM, CIP, biology...)."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

NOMENCLATURES = Path(__file__).parent.parent / "snds_schema" / "nomenclatures"

# Prestation natures (IR_NAT_V) per kind of care; each is checked against the file.
NATURES = {
    "consultation": (1110, 1111, 1112),
    "pharmacy": (3311, 3312, 3313),
    "biology": (2413, 3222),
    "ccam": (1321, 1324, 1351),
    "hospital": (2211,),
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
    )

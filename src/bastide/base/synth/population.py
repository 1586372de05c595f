"""Beneficiaries: ages, sexes, residence, twins' rank, deaths (always after birth)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from bastide.base.synth.codes import Codes
from bastide.base.synth.values import pick, unique_ids


@dataclass
class Population:
    nir: pa.Array  # BEN_NIR_PSA
    idt: pa.Array  # BEN_IDT_ANO
    rank: np.ndarray
    sex: np.ndarray
    birth: np.ndarray  # datetime64[D]
    death: np.ndarray  # datetime64[D], NaT when alive at the end
    dept: np.ndarray
    cdi: np.ndarray | None = None  # BEN_CDI_NIR: "00" certified, "03"/"04" provisional, others fictitious

    def __len__(self) -> int:
        return len(self.sex)

    def age_on(self, day: np.datetime64 | np.ndarray, index: np.ndarray | None = None) -> np.ndarray:
        birth = self.birth if index is None else self.birth[index]
        return ((np.asarray(day, dtype="datetime64[D]") - birth).astype(np.int64) // 365.25).astype(np.int64)

    def alive_span(self, year: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(indices alive some day of `year`, first day, last day) for that year."""
        first, last = np.datetime64(f"{year}-01-01"), np.datetime64(f"{year}-12-31")
        death = np.where(np.isnat(self.death), last, self.death)
        alive = (self.birth <= last) & (death >= first)
        index = np.flatnonzero(alive)
        return index, np.maximum(self.birth[index], first), np.minimum(death[index], last)


def _ages(rng: np.random.Generator, count: int) -> np.ndarray:
    # A French-like pyramid: flat to 60, then thinning out to 105.
    weights = np.where(np.arange(106) < 60, 1.0, np.exp(-(np.arange(106) - 60) / 12.0))
    return rng.choice(106, size=count, p=weights / weights.sum())


def make_population(rng: np.random.Generator, count: int, years: list[int], codes: Codes) -> Population:
    start = np.datetime64(f"{years[0]}-01-01")
    age = _ages(rng, count)
    birth = start - (age * 365.25).astype("timedelta64[D]") - rng.integers(0, 365, count).astype("timedelta64[D]")
    death = np.full(count, np.datetime64("NaT"), dtype="datetime64[D]")
    for year in years:
        age_then = age + (year - years[0])
        risk = np.minimum(0.0004 * np.exp(0.085 * np.maximum(age_then - 30, 0)), 0.35)
        dies = np.isnat(death) & (rng.random(count) < risk)
        day = np.datetime64(f"{year}-01-01") + rng.integers(0, 365, count).astype("timedelta64[D]")
        death = np.where(dies, np.maximum(day, birth + np.timedelta64(1, "D")), death)
    rank = np.where(rng.random(count) < 0.03, 2, 1)
    return Population(
        nir=unique_ids(rng, count, 17),
        idt=unique_ids(rng, count, 17),
        rank=rank,
        sex=rng.choice([1, 2], size=count, p=[0.485, 0.515]),
        birth=birth,
        death=death,
        dept=pick(rng, codes.departments, count),
    )


FICTITIOUS, PROVISIONAL = 0.003, 0.007  # shares of beneficiaries


def nir_kinds(rng: np.random.Generator, count: int) -> np.ndarray:
    """BEN_CDI_NIR (IR_NIR_V): mostly certified NIRs, some provisional (foreign workers and students
    awaiting checks), a few fictitious (abortions, STI…; fiches/fiche_beneficiaire.md)."""
    draw = rng.random(count)
    fictitious = np.array(["01", "05", "08", "09", "11"])
    return np.where(draw < FICTITIOUS, fictitious[rng.integers(0, len(fictitious), count)],
                    np.where(draw < FICTITIOUS + PROVISIONAL, rng.choice(["03", "04"], count), "00"))

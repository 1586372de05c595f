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
    second_nir: np.ndarray | None = None  # another BEN_NIR_PSA of the person, "" for none (add_identity_flaws)

    def __len__(self) -> int:
        return len(self.sex)

    def age_on(self, day: np.datetime64 | np.ndarray, index: np.ndarray | None = None) -> np.ndarray:
        birth = self.birth if index is None else self.birth[index]
        return ((np.asarray(day, dtype="datetime64[D]") - birth).astype(np.int64) // 365.25).astype(np.int64)

    def pseudo_nirs(self, who: np.ndarray, salt: list[int]) -> pa.Array:
        """The BEN_NIR_PSA each event of persons `who` is recorded under: a person with a second
        pseudo-NIR has about half of its care under each (fiches/fiche_beneficiaire.md)."""
        nir = self.nir.to_numpy(zero_copy_only=False)[who]
        if self.second_nir is None:
            return pa.array(nir)
        other = self.second_nir[who]
        chosen = (other != "") & (np.random.default_rng([*salt, 15]).random(len(who)) < 0.5)
        return pa.array(np.where(chosen, other, nir))

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


TWINS, SEVERAL_NIRS = 0.005, 0.04  # shares of beneficiaries


def add_identity_flaws(rng: np.random.Generator, pop: Population) -> None:
    """Real persons as IR_BEN_R holds them (fiches/fiche_beneficiaire.md): some have a second
    pseudo-NIR (BEN_NIR_PSA; e.g. first on a parent's NIR, then on their own), gathered by
    BEN_IDT_ANO; twins share their parent's pseudo-NIR and differ by BEN_RNG_GEM."""
    n = len(pop)
    nir, rank = pop.nir.to_numpy(zero_copy_only=False).copy(), pop.rank.copy()
    ones = np.flatnonzero(rank == 1)
    pairs = rng.choice(ones, size=2 * int(len(ones) * TWINS / 2), replace=False).reshape(2, -1)
    first, second = pairs
    nir[second], rank[second] = nir[first], 2
    pop.birth[second], pop.dept[second] = pop.birth[first], pop.dept[first]
    twins = np.zeros(n, dtype=bool)
    twins[pairs.ravel()] = True
    several = np.flatnonzero(~twins & (rng.random(n) < SEVERAL_NIRS))
    other = np.full(n, "", dtype=object)
    other[several] = unique_ids(rng, len(several), 17, start=n).to_numpy(zero_copy_only=False)
    pop.nir, pop.rank, pop.second_nir = pa.array(nir), rank, other

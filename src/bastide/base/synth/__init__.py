"""A synthetic SNDS delivery, coherent across tables and deterministic for a seed.

Codes come from the real nomenclatures, columns from the real schema-snds; the people
are made up. The delivery is written next to its target and renamed into place at the
end, so an interrupted run never leaves a half-written delivery behind.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bastide.analytics.pmsi import DUPLICATE_FINESS
from bastide.base.schema import snds_registry
from bastide.base.synth import dcir, deaths, outpatient, pmsi, referentials
from bastide.base.synth.codes import NOMENCLATURES, load_codes
from bastide.base.synth.population import add_identity_flaws, make_population, nir_kinds
from bastide.base.synth.values import digits_ids
from bastide.base.synth.writer import DeliveryWriter
from bastide.errors import InvalidInput

Progress = Callable[[str, int, int], None]
# The referentials the synthetic tables draw their codes from, delivered alongside them.
REFERENTIALS = ("IR_NAT_V", "IR_SPE_V", "IR_DPT_V", "IR_SEX_V", "IR_CIM_V", "IR_CCAM_V63", "IR_BIO_R", "IR_CIP_V",
                "NU_UCD_R", "IR_LPP_V", "IR_SGN_V", "IR_TCU_V", "IR_PRF_V")


@dataclass(frozen=True)
class SynthSummary:
    out: Path
    rows: dict[str, int]
    seconds: float


def parse_years(text: str) -> list[int]:
    try:
        first, _, last = text.partition("-")
        years = list(range(int(first), int(last or first) + 1))
    except ValueError:
        raise InvalidInput(f"years must look like 2022-2024 or 2023, not {text!r}") from None
    if not years or years[0] < 2006 or years[-1] > 2099:
        raise InvalidInput(f"years {text!r} must be an increasing range between 2006 and 2099")
    return years


def generate(
    out: Path, *, beneficiaries: int, years: list[int], seed: int, gzip: bool = False, progress: Progress | None = None
) -> SynthSummary:
    if beneficiaries < 1:
        raise InvalidInput("--beneficiaries must be at least 1")
    out = Path(out)
    if out.exists() and any(out.iterdir()):
        raise InvalidInput(f"{out} already exists and is not empty: choose another --out or remove it")
    partial = out.with_name(out.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    began = time.monotonic()
    writer = DeliveryWriter(partial, gzip=gzip)
    steps = 5 + 2 * len(years)
    tick = progress or (lambda *_: None)
    _write_all(writer, beneficiaries, years, seed, lambda s, d: tick(s, d, steps))
    if out.exists():
        out.rmdir()
    partial.rename(out)
    return SynthSummary(out, dict(writer.rows), time.monotonic() - began)


def _write_all(writer: DeliveryWriter, count: int, years: list[int], seed: int, tick) -> None:
    schemas = snds_registry()
    codes = load_codes()
    rng = np.random.default_rng(seed)
    start, end = np.datetime64(f"{years[0]}-01-01"), np.datetime64(f"{years[-1]}-12-31")
    pop = make_population(rng, count, years, codes)
    # real data's flaws draw from their own stream, so adding one leaves the others' draws alone
    flaws = np.random.default_rng([seed, 15])
    died = deaths.death_records(flaws, pop)
    pop.cdi = nir_kinds(flaws, len(pop))
    add_identity_flaws(flaws, pop)
    tick("population", 1)
    doctors, numbers, specialty = referentials.practitioners(rng, max(50, count // 200), codes, years[-1])
    n_eta = max(20, count // 5000)
    finess = digits_ids(rng, n_eta, 8).to_numpy(zero_copy_only=False)
    eta_numbers = 100_000_000 + np.arange(n_eta, dtype=np.int64) * 1013
    practice = dcir.Practice(numbers, specialty, finess)
    ben = referentials.beneficiaries(rng, pop, end, died.referential_dates(pop))
    current, archive = referentials.archived(flaws, ben, len(pop))
    writer.write(schemas.get("IR_BEN_R"), "IR_BEN_R", "IR_BEN_R", current)
    writer.write(schemas.get("IR_BEN_R_ARC"), "IR_BEN_R_ARC", "IR_BEN_R_ARC", archive)
    tick("IR_BEN_R", 2)
    writer.write(schemas.get("IR_IMB_R"), "IR_IMB_R", "IR_IMB_R", referentials.long_term_illnesses(rng, pop, codes, start))
    tick("IR_IMB_R", 3)
    prs_serial, step = 1, 3
    for year in years:
        prs, details, prs_serial = dcir.prestations(rng, pop, codes, practice, year, prs_serial)
        writer.write(schemas.get("ER_PRS_F"), "ER_PRS_F", f"ER_PRS_F_{year}", prs)
        for table, columns in details.items():
            writer.write(schemas.get(table), table, f"{table}_{year}", columns)
        step += 1
        tick(f"DCIR {year}", step)
        yy = f"{year % 100:02d}"
        b, c, d, a, um = pmsi.stays(rng, pop, codes, eta_numbers, year, died.dying_in_hospital(pop, year))
        mco = {"B": b, "C": c, "D": d, "A": a, "UM": um}
        listed_eta, listed_finess = eta_numbers, finess  # T_MCOaaE's establishments this year
        if year <= pmsi.LAST_RESENT_YEAR:  # the first establishment plays AP-HP, which sent stays twice
            pmsi.resent_under_geographic_finess(np.random.default_rng([seed, year, 18]), mco, int(eta_numbers[0]))
            geographic = np.array(DUPLICATE_FINESS)
            # their ETB_EXE_FIN stays empty: schema-snds declares it 8 characters, a FINESS has 9
            listed_eta = np.r_[eta_numbers, geographic.astype(np.int64)]
            listed_finess = np.r_[finess, [None] * len(geographic)]
        for suffix, columns in mco.items():
            writer.write(schemas.get(f"T_MCOaa{suffix}"), f"T_MCO{yy}{suffix}", f"T_MCO{yy}{suffix}", columns)
        writer.write(schemas.get("T_MCOaaE"), f"T_MCO{yy}E", f"T_MCO{yy}E",
                     pmsi.establishments(len(listed_eta), year, listed_finess, listed_eta))
        ace = outpatient.visits(np.random.default_rng([seed, year, 17]), pop, eta_numbers, codes.specialties, year)
        for suffix, columns in ace.items():
            writer.write(schemas.get(f"T_MCOaa{suffix}"), f"T_MCO{yy}{suffix}", f"T_MCO{yy}{suffix}", columns)
        step += 1
        tick(f"PMSI {year}", step)
    for name in REFERENTIALS:
        writer.copy_referential(NOMENCLATURES / f"{name}.csv")
    writer.write(schemas.get("IR_PHA_R"), "IR_PHA_R", "IR_PHA_R", referentials.drugs(codes))
    writer.write(schemas.get("DA_PRA_R"), "DA_PRA_R", "DA_PRA_R", doctors)
    cci, ecd = deaths.causes_of_death(rng, pop, codes, died)
    writer.write(schemas.get("KI_CCI_R"), "KI_CCI_R", "KI_CCI_R", cci)
    writer.write(schemas.get("KI_ECD_R"), "KI_ECD_R", "KI_ECD_R", ecd)
    tick("causes of death", step + 2)

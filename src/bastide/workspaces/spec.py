"""The extract specification: what a permit allows, as data (SPE-02, SPE-03, PSE-04…PSE-06).

The permit *is* the specification: `ExtractSpec.from_permit` reads the signed document and
nothing else, so the extract can be rebuilt bit-for-bit from the permit and the snapshot; its
canonical JSON and hash go into the extract manifest."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from datetime import date

from bastide.errors import InvalidInput, not_among

# Person identifiers of the SNDS model (schema-snds): replaced by the project pseudonym.
PERSON_IDS = frozenset({"BEN_NIR_PSA", "BEN_NIR_ANO", "BEN_IDT_ANO", "NIR_ANO_17", "BEN_NIR_IDT", "NIR_ANO_MAM",
                        "ASS_NIR_ANO", "NUM_ENQ"})

# Health professionals' numbers (schema-snds: ER_PRS_F, DA_PRA_R, IR_MTT_R; the CNAM's "…C" variants are
# pseudonymised by the same number in every extract): replaced by a project surrogate unless the
# permit allows `professionals` (issue 13: a prescriber's number linked two projects' extracts).
PROFESSIONAL_IDS = frozenset({"PFS_EXE_NUM", "PFS_EXE_NUMC", "PFS_PRE_NUM", "PFS_PRE_NUMC", "PRS_MTT_NUM",
                              "PRS_MTT_NUMC", "MTT_PFS_NUM", "PSP_PPS_NUM", "PSP_PPS_NUMC", "PFS_PFS_NUM",
                              "FIS_PFS_NUM", "STA_PFS_NUM"})

# Potential identifiers (PSE-05) and what happens to them unless the permit allows them as they are.
BIRTH_DETAIL = frozenset({"BEN_NAI_MOI", "BEN_NAI_ANM"})  # birth month: dropped, the year stays
COMMUNE = frozenset({"BEN_RES_COM", "BEN_COM_RES"})  # commune of residence: dropped, the département stays
DEATH_DATES = frozenset({"BEN_DCD_DTE", "BEN_DCD_DTD"})  # exact dates of death: to the month
# days from a stay's or a visit's first day to an act: added to a date given to the month they would make up a
# day (1 March + 3), so they go with the exact dates (the act is then in its stay's month: analytics.events)
DELAYS = frozenset({"ENT_DAT_DEL", "DEL_DAT_ENT"})
DEFAULT_FLUX_LAG_MONTHS = 6
ALLOWED = {"birth_month": BIRTH_DETAIL, "commune": COMMUNE, "exact_dates": frozenset(),
           "professionals": PROFESSIONAL_IDS}


@dataclass(frozen=True)
class Population:
    """Who is in the cohort. Each criterion is a set of codes (any of them); `combine` says
    whether a person must meet all criteria or any one of them. Codes are prefixes: `E11`
    takes E110…E119 (ICD-10 is hierarchical)."""

    icd10: tuple[str, ...] = ()  # PMSI MCO diagnoses: main, related, associated, and each medical unit's main and related
    ccam: tuple[str, ...] = ()  # PMSI MCO acts
    atc: tuple[str, ...] = ()  # DCIR dispensations, by IR_PHA_R's ATC7 (any level) or IR_CIP_V's 3 characters
    sex: tuple[int, ...] = ()  # 1 male, 2 female
    age_min: int | None = None
    age_max: int | None = None
    age_on: str | None = None  # reference date of the ages, default 1 January of the first year
    combine: str = "all"

    @property
    def empty(self) -> bool:
        return not (self.icd10 or self.ccam or self.atc or self.sex or self.age_min is not None
                    or self.age_max is not None)


@dataclass(frozen=True)
class ExtractSpec:
    permit: str
    snapshot: str
    merkle_root: str
    tables: tuple[str, ...]
    years: tuple[int, ...]
    # the variables asked: `NAME` for every table (the older form), `TABLE.NAME` for one table's
    # own; a table with none of either keeps every column (issue 18, item 2)
    columns: tuple[str, ...] = ()
    population: Population = field(default_factory=Population)
    allowed_identifiers: tuple[str, ...] = ()
    optout_as_of: str = ""
    # DCIR is stored by flux month and care of year Y is paid in Y and after: a care year is read
    # from the flux months of Y and these many more (fiches/sas_prestation_dcir.md; sndsTools'
    # dis_dtd_lag_months, 6 by default); the rows kept are those whose care date is in the years
    flux_lag_months: int = DEFAULT_FLUX_LAG_MONTHS

    @classmethod
    def from_permit(cls, document: dict) -> ExtractSpec:
        data = document["data"]
        return cls(permit=document["permit"], snapshot=data["snapshot"], merkle_root=data["merkle_root"],
                   tables=tuple(sorted(data["tables"])), years=tuple(sorted(int(y) for y in data["years"])),
                   columns=_columns(data.get("columns")),
                   population=_population(data.get("population") or {}, data),
                   allowed_identifiers=tuple(sorted(data.get("identifiers") or ())),
                   optout_as_of=document.get("optout_as_of", document["issued_at"]),
                   flux_lag_months=_lag(data.get("flux_lag_months", DEFAULT_FLUX_LAG_MONTHS)))

    def canonical(self) -> bytes:
        return json.dumps(asdict(self), sort_keys=True, separators=(",", ":")).encode()

    @property
    def digest(self) -> str:
        return hashlib.sha256(self.canonical()).hexdigest()

    def wanted_in(self, table: str) -> frozenset[str]:
        """The variables asked of `table` (empty: every column), with the extract's keys kept besides."""
        prefix = f"{table}."
        return frozenset(c.removeprefix(prefix) for c in self.columns if "." not in c or c.startswith(prefix))

    def allows(self, identifier: str) -> bool:
        return identifier in self.allowed_identifiers

    @property
    def last_flux_month(self) -> str:
        """`YYYY-MM`: the last DCIR flux month read, the lag after the last care year."""
        months = self.years[-1] * 12 + 11 + self.flux_lag_months
        return f"{months // 12}-{months % 12 + 1:02d}"

    @property
    def age_reference(self) -> date:
        if self.population.age_on:
            return date.fromisoformat(self.population.age_on)
        return date(self.years[0], 1, 1)


def _columns(columns) -> tuple[str, ...]:
    """One list for every table, or each table's own (`{table: [names]}`) written `TABLE.NAME`:
    a permit of the older form keeps its canonical form, hence its digest."""
    if isinstance(columns, dict):
        return tuple(sorted(f"{table}.{name}" for table, names in columns.items() for name in names or ()))
    return tuple(sorted(columns or ()))


def _lag(value) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 24:
        raise InvalidInput("flux_lag_months is a whole number of months from 0 to 24",
                           details={"field": "flux_lag_months"}, code="flux_lag")
    return value


def _codes(values, name: str) -> tuple[str, ...]:
    codes = tuple(sorted({str(v).strip().upper().replace(".", "") for v in values or () if str(v).strip()}))
    if any(not c.isalnum() for c in codes):  # they become SQL literals: letters and digits only
        raise InvalidInput(f"{name} codes are letters and digits (e.g. E11, I10)", details={"field": name},
                           code="code_format")
    return codes


def _population(raw: dict, data: dict) -> Population:
    combine = raw.get("combine", "all")
    if combine not in ("all", "any"):
        raise not_among("population.combine", ("all", "any"))
    sex = tuple(sorted({int(s) for s in raw.get("sex") or ()}))
    if set(sex) - {1, 2}:
        raise not_among("population.sex", (1, 2))
    ages = [raw.get("age_min"), raw.get("age_max")]
    if any(a is not None and (not isinstance(a, int) or not 0 <= a <= 130) for a in ages):
        raise InvalidInput("ages are whole numbers of years from 0 to 130", details={"field": "population.age_min"},
                           code="age_range")
    return Population(icd10=_codes(raw.get("icd10"), "icd10"), ccam=_codes(raw.get("ccam"), "ccam"),
                      atc=_codes(raw.get("atc"), "atc"), sex=sex,
                      age_min=ages[0], age_max=ages[1], age_on=raw.get("age_on"), combine=combine)

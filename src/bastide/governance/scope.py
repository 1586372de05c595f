"""The data an application asks for, read against the release it names (issue 18, item 2).

An applicant chooses tables and, per table, variables from the release's dictionary (`data.columns`
maps a table to its variables; a table left out of it, or given no variable, keeps every column;
the older form, one list for every table, still reads). Before submitting, the page shows what is
wrong or doubtful (`problems`), each a code the catalogues word and the values it is about:

- blocking (submission refuses them): a table the release lacks, a variable its table lacks,
  a table left with its keys only, an ICD-10 code IR_CIM_V does not know, a malformed ATC code;
- warnings: a table whose rows cannot be tied to a person without another table not asked for,
  ER_PHA_F without IR_PHA_R (no ATC class), a CCAM or ATC code the shipped lists lack, no
  population criterion at all (the extract holds everyone of the years asked).

and the extract's shape (`shape`), from the catalogue's safe counts of the whole release.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache

from bastide.analytics.dcir import DCIR_KEYS
from bastide.analytics.pmsi import STAY, VISIT
from bastide.base import nomenclatures
from bastide.catalogue.dictionary import completeness
from bastide.errors import InvalidInput, NotFound

PRESTATIONS = "ER_PRS_F"  # the DCIR's central table: the person of each claim (fiches/prestation.md)
MCO_PATIENTS = "T_MCOaaC"  # the PMSI MCO table naming each stay's patient (fiches/requete_type_pmsi_mco.md)
ACE_PATIENTS = "T_MCOaaCSTC"  # the same for outpatient visits (ACE)
DRUGS = "IR_PHA_R"  # CIP13 -> ATC (fiches/medicament.md)
DISPENSED = "ER_PHA_F"

# ATC codes by level (WHO ATC structure): A, A10, A10B, A10BA, A10BA02
ATC = re.compile(r"^[A-Z]([0-9]{2}([A-Z]([A-Z]([0-9]{2})?)?)?)?$")
# where each population code is looked up: nomenclature and its code column's name
CODES = {"icd10": "IR_CIM_V", "ccam": "IR_CCAM_V63", "atc": "IR_CIP_V"}
# IR_CIM_V holds every ICD-10 code the SNDS uses (18,334, U07 included); IR_CCAM_V63 is one version
# of the CCAM, and IR_CIP_V's classes (93) miss some ATC classes (A08, P03): an unknown code of
# those is a warning, not a refusal
COMPLETE = frozenset({"icd10"})
# the criteria whose codes the nomenclature browser offers to tick: its code column is the
# criterion's code (IR_CIP_V's codes are CIP, not the ATC classes a criterion names)
PICKED = {"icd10": "IR_CIM_V", "ccam": "IR_CCAM_V63"}


@dataclass(frozen=True)
class Problem:
    """Something to mend (`blocking`) or to think about, worded by the catalogues' `scope_<code>`."""
    code: str
    field: str  # the form's field it is beside (tables, columns, icd10, atc, ccam)
    values: dict[str, str] = field(default_factory=dict)
    blocking: bool = True
    data: dict = field(default_factory=dict)  # the same, structured, for the API's error details

    @property
    def message(self) -> str:
        """In English, for the API and the domain error."""
        return ENGLISH[self.code].format(**self.values)


ENGLISH = {
    "unknown_table": "{release} has no table {tables}",
    "unknown_variable": "{table} has no variable {variables}",
    "unasked_table": "variables are chosen in {table}, which is not among the tables asked for: add it or clear them",
    "keys_only": "none of the variables named is in {tables}: the extract would hold only their keys — name some of "
                 "their variables, or none at all to keep every column",
    "stray_variable": "variables not in the tables asked for: {variables} — add their table or remove them",
    "unknown_code": "no {nomenclature} code starts with {codes}",
    "malformed_atc": "{codes}: an ATC code is a letter, then 2 digits, a letter, a letter and 2 digits, cut at any "
                     "level (A10, A10BA02)",
    "unlinked": "{tables} meet a person only through {through}, not asked for: add it, or their rows cannot be tied "
                "to anyone",
    "no_atc": "{table} gives drugs by CIP code: add {through} to read their ATC class",
    "no_criterion": "no population criterion: the extract holds everyone of the years asked",
}


def asked_columns(data: dict, table: str) -> frozenset[str]:
    """The variables asked of `table`; empty: every column."""
    columns = data.get("columns") or ()
    if isinstance(columns, dict):
        return frozenset(columns.get(table) or ())
    return frozenset(columns)


def problems(snapshot, data: dict) -> list[Problem]:
    variables = {t.name: {v.name for v in t.variables} for t in snapshot.tables}
    tables = [t for t in data.get("tables") or ()]
    found = [
        *_tables(snapshot.ref, variables, tables),
        *_columns(snapshot.ref, variables, [t for t in tables if t in variables], data.get("columns")),
        *_codes(data.get("population") or {}),
        *_links(variables, tables),
    ]
    if tables and not _criteria(data.get("population") or {}):
        found.append(Problem("no_criterion", "icd10", blocking=False))
    return found


def check(snapshot, data: dict) -> None:
    """Raise the first blocking problem (submission)."""
    for problem in problems(snapshot, data):
        if problem.blocking:
            raise InvalidInput(problem.message, details={"field": f"data.{problem.field}", "rule": problem.code,
                                                         **problem.values, **problem.data},
                               words=f"scope_{problem.code}")  # the scope builder's own words for it


def _tables(release: str, variables: dict, tables: list[str]) -> list[Problem]:
    unknown = [t for t in tables if t not in variables]
    return [Problem("unknown_table", "tables", {"release": release, "tables": ", ".join(unknown)})] if unknown else []


def _columns(release: str, variables: dict[str, set[str]], tables: list[str], columns) -> list[Problem]:
    if not columns:
        return []
    if isinstance(columns, dict):
        found = [Problem("unasked_table", "columns", {"table": t}) for t in columns if t not in tables]
        for table in (t for t in tables if t in columns):
            stray = sorted(set(columns[table] or ()) - variables[table])
            if stray:
                found.append(Problem("unknown_variable", "columns", {"table": table, "variables": ", ".join(stray)}))
        return found
    wanted, asked = set(columns), {t: variables[t] for t in tables}
    stray = sorted(wanted - set().union(*asked.values())) if asked else sorted(wanted)
    if stray:
        where = {v: sorted(t for t, names in variables.items() if v in names) for v in stray}
        said = "; ".join(f"{v} is in {', '.join(t) or 'no table of ' + release}" for v, t in where.items())
        return [Problem("stray_variable", "columns", {"variables": said}, data={"variables": where})]
    bare = sorted(t for t, names in asked.items() if not names & wanted)
    return [Problem("keys_only", "columns", {"tables": ", ".join(bare)}, data={"tables": bare})] if bare else []


def _criteria(population: dict) -> bool:
    return any(population.get(k) for k in ("icd10", "atc", "ccam", "sex")) or \
        population.get("age_min") is not None or population.get("age_max") is not None


def _codes(population: dict) -> list[Problem]:
    found = []
    for name, nomenclature in CODES.items():
        codes = [str(c).strip().upper().replace(".", "") for c in population.get(name) or () if str(c).strip()]
        if name == "atc":
            malformed = [c for c in codes if not ATC.match(c)]
            if malformed:
                found.append(Problem("malformed_atc", "atc", {"codes": ", ".join(malformed)}))
            codes = [c[:3] for c in codes if ATC.match(c) and len(c) >= 3]  # IR_CIP_V holds classes at level 2
        unknown = sorted({c for c in codes if not _known(nomenclature, c)})
        if unknown:  # only ICD-10 is shipped whole; the CCAM and CIP lists are one version or a part
            found.append(Problem("unknown_code", name, {"nomenclature": nomenclature, "codes": ", ".join(unknown)},
                                 blocking=name in COMPLETE))
    return found


def _known(nomenclature: str, code: str) -> bool:
    """Whether some code of the shipped nomenclature starts with `code` (E11 holds E110…E119);
    a nomenclature not shipped with the platform cannot say no."""
    try:
        known = _codes_of(nomenclature)
    except NotFound:
        return True
    return any(c.startswith(code) for c in known)


@cache
def _codes_of(nomenclature: str) -> tuple[str, ...]:
    table = nomenclatures.load(nomenclature)
    column = table.columns.index("PHA_ATC_CLA" if nomenclature == "IR_CIP_V" else table.code)
    return tuple(sorted({row[column].upper() for row in table.rows if len(row) > column and row[column]}))


def _links(variables: dict[str, set[str]], tables: list[str]) -> list[Problem]:
    """The rows of some tables name no person: they meet one through a central table (the 9 DCIR
    keys through ER_PRS_F, fiches/prestation.md; a stay's keys through T_MCOaaC, a visit's through
    T_MCOaaCSTC, fiches/requete_type_pmsi_mco.md). Asked without it, they cannot be tied to anyone."""
    asked, found = set(tables), []
    for through, keys, member in ((PRESTATIONS, DCIR_KEYS, lambda t: True),
                                  (MCO_PATIENTS, STAY, lambda t: t.startswith("T_MCO") and not t.endswith("STC")),
                                  (ACE_PATIENTS, VISIT, lambda t: t.startswith("T_MCO") and t.endswith("STC"))):
        unlinked = sorted(t for t in asked if t != through and t in variables and member(t)
                          and set(keys) <= variables[t] and not _names_a_person(variables[t]))
        if unlinked and through in variables and through not in asked:
            found.append(Problem("unlinked", "tables", {"tables": ", ".join(unlinked), "through": through},
                                 blocking=False))
    if DISPENSED in asked and DRUGS in variables and DRUGS not in asked:
        found.append(Problem("no_atc", "tables", {"table": DISPENSED, "through": DRUGS}, blocking=False))
    return found


def _names_a_person(names: set[str]) -> bool:
    return bool(names & {"BEN_NIR_PSA", "NIR_ANO_17", "BEN_IDT_ANO", "BEN_NIR_ANO"})


@dataclass(frozen=True)
class TableShape:
    """One table of the extract as the release's catalogue counts it: an upper bound, before the
    years and the population criteria cut it."""
    name: str
    product: str
    rows: int
    variables: int  # kept
    of: int  # the table's variables
    bytes: int  # the release's bytes, prorated to the variables kept


def shape(snapshot, data: dict) -> list[TableShape]:
    tables = {t.name: t for t in snapshot.tables}
    out = []
    for name in data.get("tables") or ():
        table = tables.get(name)
        if table is None:
            continue
        names = [v.name for v in table.variables]
        kept = asked_columns(data, name) & set(names) or set(names)
        share = len(kept) / len(names) if names else 1
        out.append(TableShape(name, table.product, table.rows, len(kept), len(names), int(table.bytes * share)))
    return out


@dataclass(frozen=True)
class VariableChoice:
    name: str
    type: str
    description: str
    nomenclature: str
    chosen: bool
    completeness: float | None = None  # the share of the table's rows that fill it


@dataclass(frozen=True)
class TableChoice:
    name: str
    title: str
    product: str
    rows: int
    asked: bool
    variables: list[VariableChoice]

    @property
    def chosen(self) -> int:
        return sum(v.chosen for v in self.variables)


def choices(snapshot, data: dict) -> list[tuple[str, list[TableChoice]]]:
    """The release's tables by product, each with its variables, marked as the form asks them:
    what the application page offers to tick (no variable ticked: every column)."""
    asked, by_product = set(data.get("tables") or ()), {}
    per_table = isinstance(data.get("columns"), dict)
    for table in sorted(snapshot.tables, key=lambda t: (t.product, t.name)):
        wanted = asked_columns(data, table.name) if per_table or table.name in asked else frozenset()
        variables = [VariableChoice(v.name, v.type, v.description, v.nomenclature, v.name in wanted,
                                    completeness(v.filled, table.rows)) for v in table.variables]
        by_product.setdefault(table.product or "-", []).append(
            TableChoice(table.name, table.title, table.product, table.rows, table.name in asked, variables))
    return list(by_product.items())


def labels(population: dict) -> dict[str, list[tuple[str, str]]]:
    """Each ICD-10 and CCAM code asked with its label, where the shipped nomenclature has it exactly."""
    out = {}
    for name in ("icd10", "ccam"):
        known = _labelled(CODES[name])
        codes = [str(c).strip().upper().replace(".", "") for c in population.get(name) or ()]
        out[name] = [(c, known[c]) for c in codes if c in known]
    return out


@cache
def _labelled(nomenclature: str) -> dict[str, str]:
    table = nomenclatures.load(nomenclature)
    if table.label is None:
        return {}
    code, label = table.columns.index(table.code), table.columns.index(table.label)
    return {row[code].upper(): row[label] for row in table.rows if len(row) > max(code, label)}

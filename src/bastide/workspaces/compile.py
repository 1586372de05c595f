"""The extract specification compiled to SQL (SPE-02, SPE-03, PSE-04…PSE-06).

The cohort is resolved once (persons, not pseudo-NIRs: workspaces/identities.py) and every table
is filtered through it: directly by its person column (through `identities`), through ER_PRS_F's 9 keys for the DCIR detail
tables, through T_MCOaaC's stay keys for the PMSI stay tables, through IR_BEN_R for tables
keyed by BEN_IDT_ANO. Tables that hold no person (referentials) come whole. The cohort carries
each person's pseudonym, computed once, so that tables keyed by person take it from the join
instead of hashing every row again (two SHA-256 per row were 40 % of an extract). The SQL keeps to
what DuckDB and Spark SQL both speak: IN/EXISTS subqueries, UNION/INTERSECT/EXCEPT, LIKE,
CASE, date_trunc; the few functions they spell differently come from the engine's dialect. Source tables are views named `src_<TABLE>`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pyarrow as pa

from bastide.analytics.dcir import DCIR_KEYS, FICTITIOUS_NIR, flat_columns, flat_dcir_sql
from bastide.analytics.events import drug_dispensations_sql
from bastide.analytics.pmsi import STAY, VISIT, YEAR, McoFilters, same_stay, sql_type
from bastide.analytics.sql import listed
from bastide.base.schema import NOMENCLATURE, snds_registry
from bastide.errors import InvalidInput
from bastide.query.dialect import DUCKDB, Dialect
from bastide.workspaces.identities import IDENTITIES, nir_column, person_of, same_person
from bastide.workspaces.pseudonym import sql_number, sql_pseudonym, sql_surrogate
from bastide.workspaces.spec import (
    BIRTH_DETAIL,
    COMMUNE,
    DEATH_DATES,
    DELAYS,
    PERSON_IDS,
    PROFESSIONAL_IDS,
    ExtractSpec,
)

STAY_KEYS = STAY
# An outpatient visit of a public hospital (ACE: T_MCOaaCSTC, FASTC, FBSTC, FCSTC…): T_MCOaaCSTC
# gives its patient (NIR_ANO_17), the other tables meet it on (ETA_NUM, SEQ_NUM) (schema-snds:
# T_MCOaaCSTC's foreign key to T_MCOaaFASTC)
VISIT_KEYS = VISIT
VISITS = "T_MCOaaCSTC"
# referentials of drugs, establishments and professionals, which hold no patient (besides the nomenclatures)
NO_PERSON = frozenset({"IR_PHA_R", "IR_CIP_V", "T_MCOaaE", "DA_PRA_R", "BE_IDE_R"})


def _numbered(keys: tuple[str, ...], names, alias: str) -> str:
    """A record's key to compare: its year when the source has it (the numbers restart every
    year), then each key as text (PMSI declares ETA_NUM an integer in some tables, text in others)."""
    a = f"{alias}." if alias else ""
    return ", ".join(([f'{a}"{YEAR}"'] if YEAR in names else []) + [f"CAST({a}{k} AS STRING)" for k in keys])


def stay(names, alias: str = "") -> str:
    """A stay, to compare: its year (RSA_NUM restarts every year) when the source has it, then
    ETA_NUM and RSA_NUM as text (PMSI declares ETA_NUM an integer in some tables, text in others)."""
    return _numbered(STAY_KEYS, names, alias)


COHORT, OPTOUT = "cohort", "optout"  # the views the extract registers beside the sources
PROFESSIONALS = "professionals"  # each professional number once, with its surrogate (professionals_sql)
CLAIMS = "claims"  # the cohort's prestations by their 9 keys, with their claim's surrogate (claims_sql)


def src(table: str) -> str:
    return f'"src_{table}"'


def q(column: str) -> str:
    return f'"{column}"'


def _like_any(columns: list[str], codes: tuple[str, ...]) -> str:
    return " OR ".join(f"{q(c)} LIKE '{code}%'" for c in columns for code in codes)


def _stays_with(spec: ExtractSpec, schemas: dict[str, pa.Schema]) -> list[str]:
    """Stays (ETA_NUM, RSA_NUM) meeting the ICD-10 and CCAM criteria, one query per criterion."""
    parts = []
    pop = spec.population
    names = _names(schemas, "T_MCOaaC")  # every MCO table is read alike: its stays compare
    if pop.icd10:
        main = [c for c in ("DGN_PAL", "DGN_REL") if c in _names(schemas, "T_MCOaaB")]
        queries = [f"SELECT {stay(names)} FROM {src('T_MCOaaB')} WHERE {_like_any(main, pop.icd10)}"] if main else []
        if "T_MCOaaD" in schemas:
            queries.append(f"SELECT {stay(names)} FROM {src('T_MCOaaD')} WHERE {_like_any(['ASS_DGN'], pop.icd10)}")
        units = [c for c in ("DGN_PAL", "DGN_REL") if c in _names(schemas, "T_MCOaaUM")]
        if units:  # each medical unit's own DP and DR (fiches/requete_type_pmsi_mco.md, T_MCOaaUM)
            queries.append(f"SELECT {stay(names)} FROM {src('T_MCOaaUM')} WHERE {_like_any(units, pop.icd10)}")
        parts.append(" UNION ".join(queries))
    if pop.ccam and "T_MCOaaA" in schemas:
        parts.append(f"SELECT {stay(names)} FROM {src('T_MCOaaA')} WHERE {_like_any(['CDC_ACT'], pop.ccam)}")
    return parts


def _in_years(day: str, spec: ExtractSpec) -> str:
    """A care date in the permit's years (the flux months read go beyond them: flux_lag_months)."""
    return f"year({day}) IN ({', '.join(str(y) for y in spec.years)})"


def _dispensed(atc: tuple[str, ...], schemas: dict[str, pa.Schema], spec: ExtractSpec) -> str:
    """Persons with a dispensation of these ATC classes, by the analytics layer's own definition:
    the flat DCIR with its standard filters (no information lines, DPN_QLF 71), quantities netted
    so that a cancelled dispensation does not count, the class from IR_PHA_R (any level, 1-7
    characters) or, lacking it, IR_CIP_V (3 characters)."""
    dcir = {t: schemas[t].names for t in ("ER_PRS_F", "ER_PHA_F") if t in schemas}
    if "IR_PHA_R" not in schemas and any(len(code) > 3 for code in atc):
        raise InvalidInput(f"ATC criteria of more than 3 characters ({', '.join(atc)}) need IR_PHA_R in the "
                           "snapshot (IR_CIP_V classes drugs by 3 characters only)", code="atc_needs_pha",
                           details={"codes": list(atc)})
    flat = {name for _t, _c, name in flat_columns(dcir)} if "ER_PRS_F" in dcir else set()
    others = ", ".join(f"f.{q(n)}" for n in sorted(flat - {"BEN_NIR_PSA"}))
    by_person = (f"(SELECT i.person AS BEN_NIR_PSA, {others} FROM ({flat_dcir_sql(dcir, table=src)}) AS f "
                 f"JOIN {IDENTITIES} AS i ON {same_person('f', flat)})")  # the person, not the pseudo-NIR
    dispensed = drug_dispensations_sql(flat, set(schemas), by_person, table=src)
    if dispensed is None:
        raise InvalidInput("ATC criteria need ER_PRS_F, ER_PHA_F and a drug referential (IR_PHA_R or IR_CIP_V) "
                           "in the snapshot", code="atc_needs_tables")
    return f"SELECT person FROM ({dispensed}) AS d WHERE ({_like_any(['atc'], atc)}) AND {_in_years('day', spec)}"


def _patients_of(stays: str, schemas: dict[str, pa.Schema]) -> str:
    """The patients of these stays, through the same quality filters as the analytics layer's
    `mco_stays` (analytics.pmsi.McoFilters: errors, duplicate FINESS, chaining codes, placeholder
    NIR_ANO_17…), so a cohort never counts a stay its own analyses would drop."""
    b, c = _names(schemas, "T_MCOaaB"), _names(schemas, "T_MCOaaC")
    where = [f"({stay(c, 'c')}) IN ({stays})", *McoFilters().predicates(set(b), set(c))]
    patients = f"{src('T_MCOaaC')} AS c JOIN {IDENTITIES} AS i ON {same_person('c', c)}"
    if b:  # the stay summaries' filters too
        patients += f" JOIN {src('T_MCOaaB')} AS b ON {same_stay('b', 'c', yearly=YEAR in b and YEAR in c)}"
    return f"SELECT i.person FROM {patients} WHERE {' AND '.join(where)}"


def cohort_sql(spec: ExtractSpec, schemas: dict[str, pa.Schema], key: bytes, dialect: Dialect = DUCKDB, *,
               pseudonymise: bool = True) -> str:
    """SELECT person, pseudonym: the permit's population, less the opt-outs recorded by the permit's
    date (`pseudonymise=False`: the person itself, for bench/extract.py's baseline)."""
    pop = spec.population
    persons = [_patients_of(stays, schemas) for stays in _stays_with(spec, schemas)]
    ben = []
    if pop.sex:
        ben.append(f"BEN_SEX_COD IN ({', '.join(str(s) for s in pop.sex)})")
    age = _age_on(spec.age_reference, "BEN_NAI_MOI" in _names(schemas, "IR_BEN_R"))
    if pop.age_min is not None:
        ben.append(f"{age} >= {pop.age_min}")
    if pop.age_max is not None:
        ben.append(f"{age} <= {pop.age_max}")
    if ben:
        persons.append(f"SELECT {person_of(_names(schemas, 'IR_BEN_R'))} AS person FROM {src('IR_BEN_R')} "
                       f"WHERE {' AND '.join(ben)}")
    if pop.atc:
        persons.append(_dispensed(pop.atc, schemas, spec))
    if not persons:  # no criterion: everyone in the referential of beneficiaries
        persons = [f"SELECT person FROM {IDENTITIES}"]
    combined = f" {'INTERSECT' if pop.combine == 'all' else 'UNION'} ".join(f"({p})" for p in persons)
    # an opt-out names a pseudo-NIR or a person's BEN_IDT_ANO (the registry's); it takes the person out,
    # all pseudo-NIRs. Twins share a pseudo-NIR: under it both go (nobody who objected stays in),
    # under the twin's own BEN_IDT_ANO only that twin
    registry = f"SELECT pseudonym FROM {OPTOUT}"
    optouts = f"SELECT person FROM {IDENTITIES} WHERE BEN_NIR_PSA IN ({registry}) OR person IN ({registry})"
    persons = f"SELECT person FROM ({combined}) AS chosen EXCEPT {optouts}{_fictitious(schemas)}"
    pseudonym = sql_pseudonym(key, "person", dialect) if pseudonymise else "person"
    return f"SELECT person, {pseudonym} AS pseudonym FROM ({persons}) AS kept"


def _age_on(day: date, with_month: bool) -> str:
    """Age in whole years on `day`, from the birth year and month (IR_BEN_R.BEN_NAI_MOI, '01'-'12':
    the birthday is taken as the first of the month; the day is not in the base); the year alone
    where the month is missing or not a month."""
    age = f"({day.year} - BEN_NAI_ANN)"
    if not with_month:
        return age
    months = listed(f"{m:02d}" for m in range(1, 13))
    return f"({age} - CASE WHEN BEN_NAI_MOI IN ({months}) AND BEN_NAI_MOI > '{day.month:02d}' THEN 1 ELSE 0 END)"


def _fictitious(schemas: dict[str, pa.Schema]) -> str:
    """Persons whose NIR is fictitious (analytics.dcir.FICTITIOUS_NIR): no one, never in a cohort."""
    if "BEN_CDI_NIR" not in _names(schemas, "IR_BEN_R"):
        return ""
    return (f" EXCEPT SELECT {person_of(_names(schemas, 'IR_BEN_R'))} AS person FROM {src('IR_BEN_R')} "
            f"WHERE BEN_CDI_NIR IN ({listed(FICTITIOUS_NIR)})")


def _names(schemas: dict[str, pa.Schema], table: str) -> list[str]:
    return schemas.get(table, pa.schema([])).names


def claims_sql(spec: ExtractSpec, schemas: dict[str, pa.Schema], key: bytes, dialect: Dialect = DUCKDB, *,
               surrogates: bool = True) -> str | None:
    """SELECT the 9 keys, n0, n1, n2: each prestation of the cohort once, with the numbers of its
    décompte's surrogate computed once — the DCIR tables meet the cohort through it (their link) and take
    their surrogate from it, instead of an HMAC on every row of every DCIR table (the most of an
    extract's cost when each row paid one). None when no permitted table is a DCIR one.
    `surrogates=False`: the keys alone (bench/extract.py's baseline)."""
    if not any(set(DCIR_KEYS) <= set(schemas[t].names) for t in spec.tables):
        return None
    keys = ", ".join(DCIR_KEYS)
    digest = sql_surrogate(key, "claim", list(CLAIM_KEYS), dialect) if surrogates else "NULL"
    numbers = ", ".join(f"{sql_number('claim', i, dialect) if surrogates else 'NULL'} AS n{i}"
                        for i in range(len(CLAIM_NUMBERS)))
    prestations = (f"SELECT DISTINCT {', '.join('s.' + k for k in DCIR_KEYS)}, {digest} AS claim "
                   f"FROM {src('ER_PRS_F')} AS s JOIN {IDENTITIES} AS i ON {same_person('s', _names(schemas, 'ER_PRS_F'))} "
                   f"WHERE i.person IN (SELECT person FROM {COHORT}) AND {_care_in_years(spec, 's.')}")
    return f"SELECT {keys}, {numbers} FROM ({prestations}) AS prestations"


def _care_in_years(spec: ExtractSpec, a: str = "") -> str:
    """A prestation whose care date is in the permit's years: the extract reads the flux months of
    the years and `flux_lag_months` more, and keeps care, not payment, years; a prestation without
    a care date keeps its flux year."""
    return f"({_in_years(a + 'EXE_SOI_DTD', spec)} OR {a}EXE_SOI_DTD IS NULL AND {_in_years(a + 'FLX_DIS_DTD', spec)})"


def professionals_sql(spec: ExtractSpec, schemas: dict[str, pa.Schema], key: bytes,
                      dialect: Dialect = DUCKDB) -> str | None:
    """SELECT value, surrogate: every professional number of the permitted tables once, its
    surrogate computed once (an HMAC per row and column cost more than the rest of an extract),
    or None when the permit keeps them as they are or the tables hold none."""
    if spec.allows("professionals"):
        return None
    parts = [f"SELECT CAST({q(c)} AS STRING) AS value FROM {src(t)}"
             for t in spec.tables for c in sorted(PROFESSIONAL_IDS & set(schemas[t].names))]
    if not parts:
        return None
    return (f"SELECT value, {sql_surrogate(key, 'professional', ['value'], dialect)} AS surrogate "
            f"FROM ({' UNION '.join(parts)}) AS numbers WHERE value IS NOT NULL")


@dataclass(frozen=True)
class TablePlan:
    table: str
    sql: str
    link: str  # how the table meets the cohort: person, dcir_keys, stay_keys, visit_keys, idt, none


# A décompte's keys: ER_DCT_F joins the prestations on these 7 of the 9 (documentation-snds,
# fiches/tables_affinees.md). Its three numbers are replaced by slices of one per-project
# surrogate of the seven (issue 13: copied as they were, they linked two projects' extracts);
# every DCIR table of an extract computes the same, so the 9-key joins work within it. The flux
# dates and the codes (emitter type, organism, reimbursement type) stay: they identify nothing
# once the numbers differ, and the flux month is how DCIR is read.
CLAIM_KEYS = ("DCT_ORD_NUM", "FLX_DIS_DTD", "FLX_EMT_NUM", "FLX_EMT_ORD", "FLX_EMT_TYP", "FLX_TRT_DTD", "ORG_CLE_NUM")
CLAIM_NUMBERS = ("DCT_ORD_NUM", "FLX_EMT_NUM", "FLX_EMT_ORD")
CLAIM = "__claim"  # the claim's surrogate, computed once per row in the source's subquery
# A stay's numbers in PMSI (RSA, RSS, stay and outpatient sequence numbers): per-project surrogates
# of (year, establishment, number); the establishment's FINESS (ETA_NUM) is a public code and stays.
STAY_NUMBERS = ("RSA_NUM", "RSS_NUM", "SEJ_NUM", "SEQ_NUM")


def _link(table: str, names: list[str], source: str, present: frozenset[str] | None = None) -> tuple[str, str]:
    """How the table meets the cohort: the link's name and the FROM clause (`source`, aliased `s`).
    A table that meets it in none of these ways is copied whole only if it holds no one
    (`holds_no_person`): deny by default, so a permitted table of patient rows that the
    extract cannot link is refused rather than given for the whole country."""
    in_cohort = f"SELECT person FROM {COHORT}"
    if nir_column(names):
        return "person", (f"{source} JOIN {IDENTITIES} AS i ON {same_person('s', names)} "
                          f"JOIN {COHORT} AS c ON c.person = i.person")
    if set(DCIR_KEYS) <= set(names) and table != "ER_PRS_F":
        return "dcir_keys", source  # met through the cohort's prestations (`claims`, joined in the source)
    if set(STAY_KEYS) <= set(names) and table.startswith("T_MCO") and table != "T_MCOaaE":
        return "stay_keys", _through_patients(source, "T_MCOaaC", STAY_KEYS, names)
    if set(VISIT_KEYS) <= set(names) and table.startswith("T_MCO"):
        if present is not None and VISITS not in present:
            raise InvalidInput(f"{table} meets its patients through {VISITS}, which the snapshot lacks: it cannot "
                               "be linked to the cohort", details={"table": table, "rule": "unlinkable_table",
                                                                   "through": VISITS}, code="visits_missing")
        return "visit_keys", _through_patients(source, VISITS, VISIT_KEYS, names)
    if "BEN_IDT_ANO" in names:
        persons = f"{src('IR_BEN_R')} AS b JOIN {IDENTITIES} AS i ON {same_person('b', ['BEN_NIR_PSA', 'BEN_RNG_GEM'])}"
        return "idt", (f"{source} WHERE s.BEN_IDT_ANO IN (SELECT b.BEN_IDT_ANO FROM {persons} "
                       f"WHERE i.person IN ({in_cohort}))")
    if not holds_no_person(table):
        raise InvalidInput(f"{table} cannot be linked to the cohort (no person, claim, stay or visit key the "
                           "extract knows): it is refused rather than copied whole",
                           details={"table": table, "rule": "unlinkable_table"}, code="unlinkable_table")
    return "none", source


def _through_patients(source: str, patients: str, keys: tuple[str, ...], names) -> str:
    """The rows of `source` whose record (year and `keys`: a stay, a visit) is one of the cohort's
    in `patients`, the table that names each record's patient (T_MCOaaC, T_MCOaaCSTC)."""
    named = f"{src(patients)} AS p JOIN {IDENTITIES} AS i ON {same_person('p', ['NIR_ANO_17', *names])}"
    return (f"{source} WHERE ({_numbered(keys, names, 's')}) IN (SELECT {_numbered(keys, names, 'p')} FROM {named} "
            f"WHERE i.person IN (SELECT person FROM {COHORT}))")


def holds_no_person(table: str) -> bool:
    """A nomenclature, or a referential of drugs, establishments or professionals: rows about no patient."""
    schema = snds_registry().tables.get(table)
    return table in NO_PERSON or schema is not None and schema.product == NOMENCLATURE


@dataclass(frozen=True)
class _Columns:
    """How each column of one table is written into the extract."""
    table: str
    names: frozenset[str]
    spec: ExtractSpec
    key: bytes
    dialect: Dialect
    joined: str | None  # the person column met through the cohort, whose pseudonym is c.pseudonym
    plain: bool = False  # identifiers as they are (bench/extract.py's baseline), never in a real extract

    @property
    def claim(self) -> bool:
        return set(CLAIM_KEYS) <= self.names

    @property
    def prestation(self) -> bool:
        """A DCIR table with the 9 keys: it meets the `claims` table and takes its surrogate there."""
        return set(DCIR_KEYS) <= self.names


    @property
    def professionals(self) -> list[str]:
        """The professional columns replaced from the professionals table (professionals_sql)."""
        return [] if self.spec.allows("professionals") or self.plain else sorted(PROFESSIONAL_IDS & self.names)

    def source(self) -> str:
        """The table aliased `s` (with its claim's surrogate), and its professionals met in their table."""
        base = f"{src(self.table)} AS s"
        if self.prestation:
            base += f" JOIN {CLAIMS} AS k ON " + " AND ".join(f"s.{k} = k.{k}" for k in DCIR_KEYS)
        elif self.claim:  # the décompte's keys without a prestation's: its surrogate computed here
            digest = sql_surrogate(self.key, "claim", list(CLAIM_KEYS), self.dialect)
            base = f"(SELECT *, {digest} AS {q(CLAIM)} FROM {src(self.table)}) AS s"
        return base + "".join(f" LEFT JOIN {PROFESSIONALS} AS p{i} ON CAST(s.{q(c)} AS STRING) = p{i}.value"
                              for i, c in enumerate(self.professionals))

    def column(self, name: str, kind: pa.DataType) -> str | None:
        """The select-list entry of one column: pseudonymised, surrogate, coarsened, dropped (None) or as is."""
        replaced = self._identifier(name)
        if replaced is not None:
            return f"{replaced} AS {q(name)}"
        column, spec = f"s.{q(name)}", self.spec
        if name in BIRTH_DETAIL and not spec.allows("birth_month") or name in COMMUNE and not spec.allows("commune"):
            return None
        if name in DELAYS and not spec.allows("exact_dates"):
            return f"CAST(NULL AS {sql_type(kind)}) AS {q(name)}"
        dated = pa.types.is_date(kind) or pa.types.is_timestamp(kind)
        # the linking keys stay exact (they are technical, and coarsened they would join wrongly) —
        # but for FLX_TRT_DTD: the day a claim was processed is days after the care it pays, an exact
        # date next to care dates given to the month (issue 15). To the month it still joins: the
        # claim's numbers are surrogates of all seven keys, the exact date included
        exact = name in DCIR_KEYS and name != "FLX_TRT_DTD" or name in STAY_KEYS
        if (dated and not exact or name in DEATH_DATES) and not spec.allows("exact_dates"):
            return f"CAST(date_trunc('month', {column}) AS DATE) AS {q(name)}"  # PSE-05: care dates to the month
        return f"{column} AS {q(name)}"

    def _identifier(self, name: str) -> str | None:
        """A person, claim, stay or professional identifier's project-specific replacement, or None."""
        column = f"s.{q(name)}"
        if self.plain:
            return None
        if name == self.joined:
            return "c.pseudonym"  # the cohort's pseudonym of this very identifier
        if name in PERSON_IDS:
            return sql_pseudonym(self.key, column, self.dialect)
        if self.claim and name in CLAIM_NUMBERS:
            slice_ = CLAIM_NUMBERS.index(name)
            return f"k.n{slice_}" if self.prestation else sql_number(f"s.{q(CLAIM)}", slice_, self.dialect)
        if name in STAY_NUMBERS and "ETA_NUM" in self.names and self.table.startswith("T_"):
            year = [f's."{YEAR}"'] if YEAR in self.names else []  # the year too: numbers restart every year
            number = sql_surrogate(self.key, name, [*year, "s.ETA_NUM", column], self.dialect)
            return f"CASE WHEN {column} IS NULL THEN NULL ELSE substr({number}, 1, 20) END"  # no number, no surrogate
        if name in self.professionals:
            return f"p{self.professionals.index(name)}.surrogate"
        return None


def table_plan(table: str, schema: pa.Schema, spec: ExtractSpec, key: bytes, dialect: Dialect = DUCKDB, *,
               present: frozenset[str] | None = None, pseudonymise: bool = True) -> TablePlan:
    """How one table is extracted; `present`: the tables the extract registered (None: all it may
    link through); `pseudonymise=False`: identifiers as they are, for bench/extract.py's baseline."""
    wanted = spec.wanted_in(table)
    columns = _Columns(table, frozenset(schema.names), spec, key, dialect, None, plain=not pseudonymise)
    link, source = _link(table, schema.names, columns.source(), present)
    if link == "person" and pseudonymise:
        columns = _Columns(table, columns.names, spec, key, dialect, nir_column(schema.names))
    keep = set(DCIR_KEYS) | set(STAY_KEYS) | PERSON_IDS | {YEAR}
    chosen = [f for f in schema if not wanted or f.name in wanted or f.name in keep]
    select = [c for c in (columns.column(f.name, f.type) for f in chosen) if c is not None]
    return TablePlan(table, f"SELECT {', '.join(select)} FROM {source}", link)

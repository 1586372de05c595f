"""PMSI MCO flattened without row explosion (SCALPEL's PMSI flattening).

Joining a stay's diagnoses, acts and units to each other multiplies them (3 diagnoses x 4 acts
= 12 rows). So a central table holds one row per stay — the stay summary (T_MCOaaB) with its
patient chaining (T_MCOaaC) on (ETA_NUM, RSA_NUM) — and each other table is joined to it on
its own; the results are stacked, a `SOURCE` column naming the table each row comes from, and
every other table's columns empty on it. Each stay also appears once alone (`SOURCE` = 'B').

The usual quality filters are named options (`McoFilters`, from documentation-snds: requête
type PMSI MCO, pipeline SCALPEL):
- `duplicate_finess`: until 2017, AP-HP, AP-HM and HCL sent their stays under their legal
  FINESS and again under geographic ones; the geographic numbers below are dropped;
- `inter_facility`: SEJ_TYP 'B' stays (services between facilities, PIE) repeat another stay,
  except sessions (GHM 28…) other than 28Z14Z, 28Z15Z and 28Z16Z (fiches/scalpel_pipeline.md,
  « règles de nettoyage »: `SEJ_TYP ≠ "B" OR (GRG_GHM like "28%" AND GRG_GHM ∉ {28Z14Z,
  28Z15Z, 28Z16Z})`; MS_GM9_V names 28Z14Z transfusion and 28Z15Z hyperbaric oxygen: the fiche
  calls the kept sessions « dialyses et radiothérapies »);
- `errors`: GHM 90… are errors and unclassifiable stays;
- `not_reimbursed`: GHS 9999;
- `chaining`: the return codes of the patient chaining (NIR_RET, NAI_RET, SEX_RET, SEJ_RET,
  FHO_RET, PMS_RET, DAT_RET, and from 2013 COH_NAI_RET, COH_SEX_RET) must say no error ('0'; an
  absent code is not held against the stay), and NIR_ANO_17 must not be one of the placeholders
  that stand for « no identifier » (fiches/fiche_beneficiaire.md, the chaining filter; kept, each
  placeholder would be one pseudo-person gathering every unchainable stay);
- `abortions` (off by default): GHM 14Z08Z, which some studies must leave out."""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

from bastide.analytics.sql import Columns, listed, ok_code, q, text
from bastide.base.deviations import (
    PLACEHOLDER_NIR,  # NIR_ANO_17 of a patient who could not be identified
)

# geographic FINESS of AP-HP, AP-HM and HCL that duplicated their legal FINESS until 2017
# (documentation-snds, "transmission en double dans le PMSI"; the list sndsTools and SCALPEL use)
DUPLICATE_FINESS = (
    "130780521", "130783236", "130783293", "130784234", "130804297", "600100101", "750041543", "750100018",
    "750100042", "750100075", "750100083", "750100091", "750100109", "750100125", "750100166", "750100208",
    "750100216", "750100232", "750100273", "750100299", "750801441", "750803447", "750803454", "910100015",
    "910100023", "920100013", "920100021", "920100039", "920100047", "920100054", "920100062", "930100011",
    "930100037", "930100045", "940100027", "940100035", "940100043", "940100050", "940100068", "950100016",
    "690783154", "690784137", "690784152", "690784178", "690787478", "830100558")
SESSIONS = "28"  # CMD 28: the GHM of sessions (dialysis, chemotherapy, radiotherapy…), not stays
NOT_KEPT_SESSIONS = ("28Z14Z", "28Z15Z", "28Z16Z")  # inter-facility sessions that repeat another RSA
CHAINING_CODES = ("NIR_RET", "NAI_RET", "SEX_RET", "SEJ_RET", "FHO_RET", "PMS_RET", "DAT_RET", "COH_NAI_RET",
                  "COH_SEX_RET", "IAS_RET", "ENT_DAT_RET")  # the last two: T_MCOaaCSTC's, of outpatient visits
VISIT = ("ETA_NUM", "SEQ_NUM")  # an outpatient visit (ACE) within its year, as STAY a stay
STAY = ("ETA_NUM", "RSA_NUM")
YEAR = "year"  # an extract's PMSI tables carry the year of their files (workspaces/extract.py)
OTHER_TABLES = ("T_MCOaaD", "T_MCOaaA", "T_MCOaaUM", "T_MCOaaMED", "T_MCOaaMEDATU", "T_MCOaaMEDTHROMBO")


@dataclass(frozen=True)
class McoFilters:
    duplicate_finess: bool = True
    inter_facility: bool = True
    errors: bool = True
    not_reimbursed: bool = True
    chaining: bool = True
    abortions: bool = False

    def predicates(self, b: set[str], c: set[str]) -> list[str]:
        wanted = []
        if self.duplicate_finess:
            wanted.append(f"NOT ({text('b.ETA_NUM')} IN ({listed(DUPLICATE_FINESS)})"
                          + (" AND b.SOR_ANN <= 2017)" if "SOR_ANN" in b else ")"))
        if self.inter_facility and "SEJ_TYP" in b:
            wanted.append(f"(b.SEJ_TYP IS NULL OR b.SEJ_TYP <> 'B' OR (b.GRG_GHM LIKE '{SESSIONS}%' "
                          f"AND b.GRG_GHM NOT IN ({listed(NOT_KEPT_SESSIONS)})))")
        if self.errors and "GRG_GHM" in b:
            wanted.append("(b.GRG_GHM IS NULL OR b.GRG_GHM NOT LIKE '90%')")
        if self.not_reimbursed and "GHS_NUM" in b:
            wanted.append(f"(b.GHS_NUM IS NULL OR {text('b.GHS_NUM')} <> '9999')")
        if self.chaining:
            wanted += chained("c", c)
        if self.abortions and "GRG_GHM" in b:
            wanted.append("(b.GRG_GHM IS NULL OR b.GRG_GHM <> '14Z08Z')")
        return wanted


def chained(alias: str, c: set[str]) -> list[str]:
    """The chaining filter on T_MCOaaC (aliased `alias`, with columns `c`): the patient is known."""
    codes = [ok_code(f"{alias}.{code}") for code in CHAINING_CODES if code in c]
    return codes + ([f"{alias}.NIR_ANO_17 NOT IN ({listed(PLACEHOLDER_NIR)})"] if "NIR_ANO_17" in c else [])


def same_stay(left: str, right: str, *, yearly: bool = False, keys: tuple[str, ...] = STAY) -> str:
    """Two rows of the same stay. ETA_NUM and RSA_NUM are integers in some PMSI tables and text in
    others; RSA_NUM restarts every year, so tables that carry their year (`year`, from an
    extract's partitions) also match on it (fiches/concepts_PMSI.md, « L'identification d'un
    séjour »: a year's T_MCOaaB holds the stays ended that year)."""
    same = [f"{text(f'{left}.{k}')} = {text(f'{right}.{k}')}" for k in keys]
    return " AND ".join(same + ([f"{left}.{q(YEAR)} = {right}.{q(YEAR)}"] if yearly else []))


def yearly(columns: Columns, *tables: str) -> bool:
    """Whether every one of `tables` carries the year of its file."""
    return all(YEAR in columns.get(t, ()) for t in tables)


def stays_sql(columns: Columns, *, filters: McoFilters = McoFilters()) -> str:
    """One row per stay: T_MCOaaB with T_MCOaaC's columns it lacks (the patient, the dates)."""
    b, c = columns["T_MCOaaB"], columns["T_MCOaaC"]
    select = [f"b.{q(n)}" for n in b] + [f"c.{q(n)}" for n in c if n not in b]
    where = filters.predicates(set(b), set(c))
    on = same_stay("b", "c", yearly=yearly(columns, "T_MCOaaB", "T_MCOaaC"))
    return (f"SELECT {', '.join(select)} FROM {q('T_MCOaaB')} AS b JOIN {q('T_MCOaaC')} AS c ON {on}"
            + (f" WHERE {' AND '.join(where)}" if where else ""))


def sql_type(kind: pa.DataType) -> str:
    """The type's name in the SQL both engines read (for the empty columns of stacked tables)."""
    if pa.types.is_decimal(kind):
        return f"DECIMAL({kind.precision}, {kind.scale})"
    for test, name in ((pa.types.is_boolean, "BOOLEAN"), (pa.types.is_integer, "BIGINT"),
                       (pa.types.is_floating, "DOUBLE"), (pa.types.is_date, "DATE"),
                       (pa.types.is_timestamp, "TIMESTAMP")):
        if test(kind):
            return name
    return "STRING"


def flat_mco_sql(schemas: dict[str, pa.Schema], stays: str = "mco_stays") -> str:
    """The stays, then each other table's rows with their stay, stacked (no cross product)."""
    central = schemas["T_MCOaaB"].names + [n for n in schemas["T_MCOaaC"].names if n not in schemas["T_MCOaaB"].names]
    others = [t for t in OTHER_TABLES if t in schemas]
    extra = [(t, f) for t in others for f in schemas[t] if f.name not in (*STAY, YEAR) and f.name not in central]
    columns = {t: schema.names for t, schema in schemas.items()}
    names = {(t, f.name): f"{t.removeprefix('T_MCOaa')}__{f.name}" for t, f in extra}

    def branch(source: str) -> str:
        cells = [f"s.{q(n)}" for n in central]
        cells += [f"o.{q(f.name)} AS {q(names[(t, f.name)])}" if t == source else
                  f"CAST(NULL AS {sql_type(f.type)}) AS {q(names[(t, f.name)])}" for t, f in extra]
        label = source.removeprefix("T_MCOaa") if source else "B"
        on = same_stay("s", "o", yearly=yearly(columns, "T_MCOaaB", "T_MCOaaC", source)) if source else ""
        joined = f" JOIN {q(source)} AS o ON {on}" if source else ""
        return f"SELECT '{label}' AS SOURCE, {', '.join(cells)} FROM {q(stays)} AS s{joined}"

    return " UNION ALL ".join(branch(t) for t in ["", *others])


def visits_sql(columns: Columns) -> str:
    """One row per outpatient visit of a public hospital (T_MCOaaCSTC, ACE) whose patient is known:
    the chaining filter of the stays (return codes at '0', no placeholder NIR_ANO_17)."""
    where = chained("c", set(columns["T_MCOaaCSTC"]))
    return f"SELECT * FROM {q('T_MCOaaCSTC')} AS c" + (f" WHERE {' AND '.join(where)}" if where else "")

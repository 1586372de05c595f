"""Deaths reconciled from the three sources that know of them (view `deaths`, one row per person).

documentation-snds, formation_snds/documents_cnam/guide_cepidc/2-Chap2CausesDeces.md:
- `referential`: IR_BEN_R.BEN_DCD_DTE, when it is a real date — some schemes never send it, and
  the base then holds 1 January 1600, as for the living (`sql.real_date`);
- `cepidc`: the death certificate (KI_CCI_R.BEN_DCD_DTE), met through BEN_IDT_ANO, which the
  CépiDc matching fills for 80-90 % of deaths only;
- `hospital`: the end of an MCO stay whose discharge mode is death (SOR_MOD '9', MS_SOR_V
  « Décès »); the guide finds it within a day of the death in more than 99 % of cases.

The date is the referential's, else the certificate's, else the stay's (the order in which the
CNAM matches them); `dates_agree` says whether the sources that know the death put it within a
day of each other. Extracts give dates of death and of care to the month unless the permit allows
exact dates: two sources can then fall in adjacent months and disagree."""

from __future__ import annotations

from bastide.analytics.sql import Columns, q, real_date
from bastide.query.dialect import Dialect

SOURCES = ("referential", "cepidc", "hospital")  # in order of precedence
DEATH_DISCHARGE = "9"  # MS_SOR_V.SOR_MOD_COD: Décès


def linked_to_persons(table: str) -> str:
    """A CépiDc table (aliased `k`) joined to the person's pseudonym (`b.BEN_NIR_PSA`) through
    BEN_IDT_ANO, the link CépiDc has (80-90 % of deaths are linked): an unlinked death meets nobody."""
    persons = f"(SELECT DISTINCT BEN_IDT_ANO, BEN_NIR_PSA FROM {q('IR_BEN_R')} WHERE BEN_IDT_ANO IS NOT NULL) AS b"
    return f"{q(table)} AS k JOIN {persons} ON b.BEN_IDT_ANO = k.BEN_IDT_ANO"


def _known(columns: Columns, stays: set[str]) -> list[str]:
    """(person, source, day) for each source the extract has, sentinel dates left out."""
    ben = columns.get("IR_BEN_R", [])
    out = []
    if {"BEN_NIR_PSA", "BEN_DCD_DTE"} <= set(ben):
        out.append(f"SELECT BEN_NIR_PSA AS person, 'referential' AS source, {real_date('BEN_DCD_DTE')} AS day "
                   f"FROM {q('IR_BEN_R')}")
    if {"BEN_NIR_PSA", "BEN_IDT_ANO"} <= set(ben) and {"BEN_IDT_ANO", "BEN_DCD_DTE"} <= set(columns.get("KI_CCI_R", [])):
        out.append(f"SELECT b.BEN_NIR_PSA AS person, 'cepidc' AS source, {real_date('k.BEN_DCD_DTE')} AS day "
                   f"FROM {linked_to_persons('KI_CCI_R')}")
    if {"NIR_ANO_17", "SOR_MOD", "EXE_SOI_DTF"} <= stays:
        out.append(f"SELECT NIR_ANO_17 AS person, 'hospital' AS source, {real_date('EXE_SOI_DTF')} AS day "
                   f"FROM {q('mco_stays')} WHERE CAST(SOR_MOD AS STRING) = '{DEATH_DISCHARGE}'")
    return out


def deaths_sql(columns: Columns, stays: set[str], dialect: Dialect) -> str | None:
    """SELECT person, death_date, source, in_referential, in_cepidc, in_hospital, sources, dates_agree;
    None when the extract has no source of deaths. `stays`: the columns of `mco_stays`, if any."""
    known = _known(columns, stays)
    if not known:
        return None
    per_source = ", ".join(f"min(CASE WHEN source = '{s}' THEN day END) AS {s}" for s in SOURCES)
    first = ", ".join(SOURCES)
    chosen = " ".join(f"WHEN {s} IS NOT NULL THEN '{s}'" for s in SOURCES)
    flags = ", ".join(f"{s} IS NOT NULL AS in_{s}" for s in SOURCES)
    count = " + ".join(f"CASE WHEN {s} IS NULL THEN 0 ELSE 1 END" for s in SOURCES)
    spread = dialect.days_between(f"least({first})", f"greatest({first})")
    return (f"SELECT person, COALESCE({first}) AS death_date, CASE {chosen} END AS source, {flags}, "
            f"{count} AS sources, CASE WHEN {count} > 1 THEN {spread} <= 1 END AS dates_agree "
            f"FROM (SELECT person, {per_source} FROM ({' UNION ALL '.join(known)}) AS known "
            "WHERE day IS NOT NULL GROUP BY person) AS d")

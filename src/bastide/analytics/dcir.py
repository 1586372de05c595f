"""DCIR flattened: ER_PRS_F and its detail tables on the 9 join keys (SCALPEL's DCIR flattening).

A prestation (ER_PRS_F) has 0..n lines in each detail table; the detail tables are left-joined
one after the other, so a prestation with two dispensation lines gives two rows, each carrying
the prestation's amounts (reallocate them before summing: documentation-snds, tables affinées).
Detail columns keep their names (they carry their table's prefix: PHA_, BIO_, CAM_…); a name
already taken becomes `<TABLE>__<COLUMN>`, as in SCALPEL.

The standard filters are named options (`DcirFilters`), each one documented practice:
- `information_lines`: DPN_QLF (and PRS_DPN_QLP) 71 are lines sent for information only;
- `no_nature`: BSE_PRS_NAT 0, a prestation without object (SCALPEL);
- `majorations`: CPL_MAJ_TOP >= 2 are supplements and majorations, dropped when counting visits;
- `direct_taa`: ETE_IND_TAA 1, public hospitals' acts and stays billed directly (T2A), which
  the PMSI holds (needs ER_ETE_F);
- `fictitious_nir`: BEN_CDI_NIR of a fictitious NIR (IR_NIR_V.TOP_NIR_SNI 1: abortions, STI,
  flat-rate payments to professionals…; fiches/fiche_beneficiaire.md), which names no person.
DCIR is loaded by flux month (FLX_DIS_DTD), not care date: `flux_month` restricts both sides of
every join to one month (how a national flattening runs, slice after slice), and the care-year
view keeps a line in its care year only if its flux month is among the 18 that hold that year
(January of the year to June of the next). Cancellation lines repeat a line with a negative
quantity: `netted_sql` sums the quantities of identical lines and keeps those left positive.
A quantity carries its sign in the detail tables (PHA_ACT_QSN: « quantité affinée signée »), not
in ER_PRS_F.PRS_ACT_QTE (minimum 0), the quantity of CCAM acts, since ER_CAM_F has none
(fiches/sas_prestation_dcir.md); the prestation's sign is BSE_REM_SGN (IR_SGN_V: 1 positive, 2
negative), so `signed` gives every quantity the sign of its prestation."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from bastide.analytics.sql import Columns, listed, q

# The 9 keys that join ER_PRS_F and its detail tables (fiches/prestation.md, sas_prestation_dcir.md)
DCIR_KEYS = ("DCT_ORD_NUM", "FLX_DIS_DTD", "FLX_EMT_NUM", "FLX_EMT_ORD", "FLX_EMT_TYP", "FLX_TRT_DTD",
             "ORG_CLE_NUM", "PRS_ORD_NUM", "REM_TYP_AFF")

DETAIL_TABLES = ("ER_PHA_F", "ER_BIO_F", "ER_CAM_F", "ER_UCD_F", "ER_TIP_F", "ER_ETE_F")
SHARED = set(DCIR_KEYS) | {"ORG_CLE_NEW"}  # the keys, and a key copy every detail table carries
# BEN_CDI_NIR of fictitious NIRs (IR_NIR_V, TOP_NIR_SNI = 1); 00 is a certified NIR, 03 and 04
# provisional ones (a real person, kept), 99 unknown
FICTITIOUS_NIR = ("01", "05", "06", "08", "09", "11", "12", "13", "14", "15")
QUANTITIES = ("PHA_ACT_QSN", "BIO_ACT_QSN", "UCD_DLV_NBR", "TIP_ACT_QSN", "PRS_ACT_QTE")  # first present wins


@dataclass(frozen=True)
class DcirFilters:
    information_lines: bool = True
    no_nature: bool = True
    majorations: bool = False  # counting visits drops them; costing keeps them
    direct_taa: bool = True
    fictitious_nir: bool = True

    def predicates(self, flat_columns: set[str]) -> list[str]:
        wanted = []
        if self.information_lines:
            wanted += [f"({c} IS NULL OR {c} <> 71)" for c in ("DPN_QLF", "PRS_DPN_QLP") if c in flat_columns]
        if self.no_nature and "BSE_PRS_NAT" in flat_columns:
            wanted.append("(BSE_PRS_NAT IS NULL OR BSE_PRS_NAT <> 0)")
        if self.majorations and "CPL_MAJ_TOP" in flat_columns:
            wanted.append("(CPL_MAJ_TOP IS NULL OR CPL_MAJ_TOP < 2)")
        if self.direct_taa and "ETE_IND_TAA" in flat_columns:
            wanted.append("(ETE_IND_TAA IS NULL OR ETE_IND_TAA <> 1)")
        if self.fictitious_nir and "BEN_CDI_NIR" in flat_columns:
            wanted.append(f"(BEN_CDI_NIR IS NULL OR BEN_CDI_NIR NOT IN ({listed(FICTITIOUS_NIR)}))")
        return wanted


def _next_month(month: date) -> date:
    return date(month.year + month.month // 12, month.month % 12 + 1, 1)


def _in_month(month: date | None) -> str:
    if month is None:
        return ""
    return f" WHERE FLX_DIS_DTD >= DATE '{month:%Y-%m-01}' AND FLX_DIS_DTD < DATE '{_next_month(month):%Y-%m-%d}'"


def flat_columns(columns: Columns) -> list[tuple[str, str, str]]:
    """(table, column, name in the flat table) for every column the flat table carries."""
    out = [("ER_PRS_F", c, c) for c in columns["ER_PRS_F"]]
    taken = set(columns["ER_PRS_F"])
    for table in (t for t in DETAIL_TABLES if t in columns):
        for c in columns[table]:
            if c in SHARED:
                continue
            name = f"{table}__{c}" if c in taken else c
            taken.add(name)
            out.append((table, c, name))
    return out


def flat_dcir_sql(columns: Columns, *, filters: DcirFilters = DcirFilters(), flux_month: date | None = None,
                  table: Callable[[str], str] = q) -> str:
    """SELECT the flattened DCIR (every column, filtered), over views named as the tables (or as
    `table` names them: the extract reads its sources as `src_<TABLE>`)."""
    chosen = flat_columns(columns)
    aliases = {t: f"d{i}" for i, t in enumerate(t for t in DETAIL_TABLES if t in columns)}
    aliases["ER_PRS_F"] = "p"
    select = ", ".join(f"{aliases[t]}.{q(c)} AS {q(name)}" for t, c, name in chosen)
    joins = "".join(f" LEFT JOIN (SELECT * FROM {table(t)}{_in_month(flux_month)}) AS {a} ON "
                    + " AND ".join(f"{a}.{k} = p.{k}" for k in DCIR_KEYS)
                    for t, a in aliases.items() if t != "ER_PRS_F")
    body = f"SELECT {select} FROM (SELECT * FROM {table('ER_PRS_F')}{_in_month(flux_month)}) AS p{joins}"
    where = filters.predicates({name for _t, _c, name in chosen})
    return f"SELECT * FROM ({body}) AS flat" + (f" WHERE {' AND '.join(where)}" if where else "")


def care_year_sql(flat: str = "dcir_flat") -> str:
    """The flat lines with their care year, each in the 18 flux months that hold its year."""
    year = "year(EXE_SOI_DTD)"
    return (f"SELECT {year} AS CARE_YEAR, * FROM {q(flat)} WHERE FLX_DIS_DTD >= make_date({year}, 1, 1) "
            f"AND FLX_DIS_DTD < make_date({year} + 1, 7, 1)")


SIGN, NEGATIVE = "BSE_REM_SGN", 2  # the prestation's sign, and IR_SGN_V's code of a negative one


def quantity(columns: set[str]) -> str:
    present = [c for c in QUANTITIES if c in columns]
    return f"COALESCE({', '.join(present)})" if len(present) > 1 else present[0]


def signed(amount: str, columns: set[str], alias: str = "") -> str:
    """`amount` with its prestation's sign: negative on a negative prestation, whether or not the
    detail table wrote it so (a signed quantity is already; PRS_ACT_QTE never is)."""
    if SIGN not in columns:
        return amount
    return f"CASE WHEN {alias}{SIGN} = {NEGATIVE} THEN -abs({amount}) ELSE {amount} END"


def netted_sql(columns: set[str], identity: list[str], flat: str = "dcir_flat") -> str:
    """Lines identical on `identity` summed; those whose total quantity is not positive go."""
    keys = ", ".join(q(c) for c in identity)
    total = f"sum({signed(quantity(columns), columns)})"
    return (f"SELECT {keys}, {total} AS QUANTITY, count(*) AS LINES FROM {q(flat)} "
            f"GROUP BY {keys} HAVING {total} > 0")

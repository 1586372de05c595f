"""Events: one long table (person, category, group_id, value, weight, start, end), SCALPEL's
event model, from the flattened DCIR and PMSI views. Each extractor is a small function giving
the SELECTs of its categories, or none when the extract lacks its tables:

| category | value | weight | group_id |
|---|---|---|---|
| drug_cip | CIP code (CIP13, else CIP7) | boxes dispensed, cancellations netted | DCIR décompte (7 keys) |
| drug_atc1 … drug_atc7 | ATC code at that level (IR_PHA_R's PHA_ATC_C07 by CIP13, else CIP7; IR_CIP_V gives 3 characters only) | boxes | décompte |
| mco_main_diagnosis, mco_linked_diagnosis, mco_associated_diagnosis | ICD-10 | – | stay (ETA_NUM_RSA_NUM_year) |
| mco_unit_main_diagnosis, mco_unit_linked_diagnosis | ICD-10: each medical unit's DP and DR (T_MCOaaUM, from 2008) | – | stay |
| mco_ccam_act | CCAM code | – | stay |
| dcir_ccam_act, dcir_biology | CCAM code (quantity PRS_ACT_QTE), biology code (NABM) | quantity, cancellations netted | décompte |
| drug_ucd | UCD of a drug dispensed by a hospital (ER_UCD_F) | units, netted | décompte |
| mco_outpatient_visit | FINESS (ETA_NUM) of a public hospital's outpatient visit (ACE, T_MCOaaCSTC, chained) | – | visit (ETA_NUM_SEQ_NUM_year) |
| mco_outpatient_act | IR_NAT_V code of the hospital's charge (T_MCOaaFBSTC) or a doctor's fee (T_MCOaaFCSTC) | ACT_NBR | visit |
| medical_device | LPP code of a device (ER_TIP_F) | quantity, netted | décompte |
| mco_hospital_stay | GHM | days | stay |
| mco_session | GHM of CMD 28 (dialysis, chemotherapy, radiotherapy… in sessions): counted apart from stays | days | stay |
| ald | ICD-10 of the long-term illness | – | ALD number |
| death | death (the `deaths` view: IR_BEN_R, CépiDc or a stay ended in death; 1600-01-01 is no death) | – | – |
| death_cause | ICD-10 of the underlying cause (KI_CCI_R, linked by BEN_IDT_ANO) | – | – |
| death_certificate_cause | ICD-10 of each cause on the certificate (KI_ECD_R) | rank on its line | certificate line |

Dates are those of the extract: care dates to the month unless the permit allows exact dates."""

from __future__ import annotations

from collections.abc import Callable

from bastide.analytics.dcir import signed
from bastide.analytics.deaths import linked_to_persons
from bastide.analytics.pmsi import SESSIONS, STAY, VISIT, YEAR, same_stay
from bastide.analytics.sql import q, text
from bastide.query.dialect import Dialect

PMSI_YEARS = "pmsi_years"  # in `tables`: the extract's PMSI tables carry their year (analytics.views)
DECOMPTE = ("FLX_DIS_DTD", "FLX_TRT_DTD", "FLX_EMT_TYP", "FLX_EMT_NUM", "FLX_EMT_ORD", "ORG_CLE_NUM", "DCT_ORD_NUM")
ATC_LEVELS = (1, 3, 4, 5, 7)
ALD_EXEMPTIONS = (41, 43, 45)  # IMB_ETM_NAT of the long-term illnesses (ALD 30, hors liste, polypathologies)


def event(source: str, *, person: str, category: str, value: str, start: str, end: str | None = None,
          weight: str | None = None, group_id: str | None = None, where: str | None = None) -> str:
    return (f"SELECT {text(person)} AS person, '{category}' AS category, {text(group_id or 'NULL')} AS group_id, "
            f"{text(value)} AS value, CAST({weight or 'NULL'} AS DOUBLE) AS weight, CAST({start} AS DATE) AS {q('start')}, "
            f"CAST({end or 'NULL'} AS DATE) AS {q('end')} FROM {source}" + (f" WHERE {where}" if where else ""))


def _keys(keys, alias: str = "") -> str:
    return f"concat_ws('_', {', '.join(text(alias + k) for k in keys)})"


DRUG_REFERENTIALS = ("IR_PHA_R", "IR_CIP_V")  # the one with ATC7 first


def _atc(flat: set[str], referential: str, table: Callable[[str], str]) -> tuple[str, str]:
    """(joins, ATC expression) of a dispensation line `f`. IR_PHA_R gives the 7-character class,
    by the CIP13 (PHA_PRS_C13 = PHA_CIP_C13), else by the CIP7 of lines without one
    (fiches/medicament.md, « Cibler des patients sur une classe ATC »); IR_CIP_V only 3 characters."""
    if referential == "IR_CIP_V":
        return f" LEFT JOIN {table('IR_CIP_V')} AS c ON {text('c.PHA_PRS_IDE')} = {text('f.PHA_PRS_IDE')}", "c.PHA_ATC_CLA"
    joins, found = "", []
    if "PHA_PRS_C13" in flat:
        joins += f" LEFT JOIN {table('IR_PHA_R')} AS r13 ON {text('r13.PHA_CIP_C13')} = {text('f.PHA_PRS_C13')}"
        found.append("r13.PHA_ATC_C07")
    if "PHA_PRS_IDE" in flat:
        only = " AND f.PHA_PRS_C13 IS NULL" if "PHA_PRS_C13" in flat else ""
        joins += f" LEFT JOIN {table('IR_PHA_R')} AS r7 ON {text('r7.PHA_PRS_IDE')} = {text('f.PHA_PRS_IDE')}{only}"
        found.append("r7.PHA_ATC_C07")
    return joins, f"COALESCE({', '.join(found)})"


def drug_dispensations_sql(flat: set[str], referentials, source: str = q("dcir_flat"),
                           table: Callable[[str], str] = q) -> str | None:
    """One row per person, drug and care date, quantities netted (cancellation lines removed);
    None without dispensations or a drug referential. `source` is the flat DCIR (a view, or a
    subquery), `table` names the referential (the extract reads `src_<TABLE>`)."""
    codes = [c for c in ("PHA_PRS_C13", "PHA_PRS_IDE") if c in flat]
    referential = next((r for r in DRUG_REFERENTIALS if r in referentials), None)
    if not codes or "PHA_ACT_QSN" not in flat or referential is None:
        return None
    cip = f"COALESCE({', '.join('f.' + c for c in codes)})"
    joins, atc = _atc(flat, referential, table)
    lines = (f"SELECT f.BEN_NIR_PSA AS person, {_keys(DECOMPTE, 'f.')} AS group_id, {text(cip)} AS cip, "
             f"{atc} AS atc, {signed('f.PHA_ACT_QSN', flat, 'f.')} AS boxes, f.EXE_SOI_DTD AS day FROM {source} AS f{joins} "
             f"WHERE {cip} IS NOT NULL")
    return _netted(lines, "cip, atc", "boxes")


def _netted(lines: str, by: str, amount: str) -> str:
    """`lines` (person, group_id, `by`, signed `amount`, day) summed per person, `by` and day; what
    is left at 0 or below goes (a cancellation's line takes its line away)."""
    return (f"SELECT person, min(group_id) AS group_id, {by}, sum({amount}) AS {amount}, day FROM ({lines}) AS l "
            f"GROUP BY person, {by}, day HAVING sum({amount}) > 0")


def drugs(view: str = "drug_dispensations") -> list[str]:
    out = [event(view, person="person", category="drug_cip", value="cip", weight="boxes", start="day", group_id="group_id")]
    for n in ATC_LEVELS:
        out.append(event(view, person="person", category=f"drug_atc{n}", value=f"substr(atc, 1, {n})", weight="boxes",
                         start="day", group_id="group_id", where=f"length(atc) >= {n}"))
    return out


def _stay_id(alias: str = "") -> str:
    """SCALPEL's stay group: ETA_NUM_RSA_NUM_year."""
    return _keys((*STAY, "SOR_ANN"), f"{alias}." if alias else "")


def diagnoses(tables: set[str], stays: str = "mco_stays") -> list[str]:
    s = f"{q(stays)} AS s"
    common = {"person": "s.NIR_ANO_17", "start": "s.EXE_SOI_DTD", "end": "s.EXE_SOI_DTF", "group_id": _stay_id("s")}
    out = [event(s, category="mco_main_diagnosis", value="s.DGN_PAL", where="s.DGN_PAL IS NOT NULL", **common),
           event(s, category="mco_linked_diagnosis", value="s.DGN_REL", where="s.DGN_REL IS NOT NULL", **common)]
    if "T_MCOaaD" in tables:
        on = same_stay("s", "d", yearly=PMSI_YEARS in tables)
        out.append(event(f"{s} JOIN {q('T_MCOaaD')} AS d ON {on}", category="mco_associated_diagnosis",
                         value="d.ASS_DGN", where="d.ASS_DGN IS NOT NULL", **common))
    if "T_MCOaaUM" in tables:  # each medical unit's DP and DR: the stay's are chosen among them
        units = f"{s} JOIN {q('T_MCOaaUM')} AS u ON {same_stay('s', 'u', yearly=PMSI_YEARS in tables)}"
        for category, column in (("mco_unit_main_diagnosis", "u.DGN_PAL"), ("mco_unit_linked_diagnosis", "u.DGN_REL")):
            out.append(event(units, category=category, value=column, where=f"{column} IS NOT NULL", **common))
    return out


def acts(tables: set[str], dialect: Dialect, stays: str = "mco_stays") -> list[str]:
    out = []
    if "T_MCOaaA" in tables and "mco" in tables:
        # the act's day: the stay's first day plus the act's delay from admission
        day = dialect.add_days("CAST(s.EXE_SOI_DTD AS DATE)", "COALESCE(a.ENT_DAT_DEL, 0)")
        on = same_stay("s", "a", yearly=PMSI_YEARS in tables)
        out.append(event(f"{q(stays)} AS s JOIN {q('T_MCOaaA')} AS a ON {on}", person="s.NIR_ANO_17",
                         category="mco_ccam_act", value="a.CDC_ACT", start=day, group_id=_stay_id("s"),
                         where="a.CDC_ACT IS NOT NULL"))
    return out


# (category, code, quantity) of the care coded in the DCIR's detail tables (fiches/sas_prestation_dcir.md:
# « code affiné » and « quantité » of each; ER_CAM_F has no quantity, PRS_ACT_QTE is the act's)
CODED_CARE = (("dcir_ccam_act", "CAM_PRS_IDE", "PRS_ACT_QTE"), ("dcir_biology", "BIO_PRS_IDE", "BIO_ACT_QSN"),
              ("drug_ucd", "UCD_UCD_COD", "UCD_DLV_NBR"), ("medical_device", "TIP_PRS_IDE", "TIP_ACT_QSN"))


def coded_care(flat: set[str]) -> list[str]:
    """Acts, biology, hospital drugs (UCD) and devices (LPP) of the flat DCIR, one per person, code
    and day, cancellations netted like dispensations (a cancelled act is no act)."""
    out = []
    for category, code, amount in CODED_CARE:
        if not {code, amount} <= flat:
            continue
        lines = (f"SELECT BEN_NIR_PSA AS person, {_keys(DECOMPTE)} AS group_id, {text(code)} AS code, "
                 f"{signed(amount, flat)} AS quantity, EXE_SOI_DTD AS day FROM {q('dcir_flat')} WHERE {code} IS NOT NULL")
        out.append(event(f"({_netted(lines, 'code', 'quantity')}) AS n", person="person", category=category, value="code", weight="quantity", start="day",
                         group_id="group_id"))
    return out


def hospital_stays(stays: str = "mco_stays") -> list[str]:
    """Stays, and sessions apart (GHM of CMD 28: a dialysis a week is not 52 hospitalisations)."""
    session = f"GRG_GHM LIKE '{SESSIONS}%'"
    common = {"person": "NIR_ANO_17", "value": "GRG_GHM", "weight": "SEJ_NBJ", "start": "EXE_SOI_DTD",
              "end": "EXE_SOI_DTF", "group_id": _stay_id()}
    return [event(q(stays), category="mco_hospital_stay", where=f"GRG_GHM IS NULL OR NOT ({session})", **common),
            event(q(stays), category="mco_session", where=session, **common)]


OUTPATIENT_ACTS = ("T_MCOaaFBSTC", "T_MCOaaFCSTC")  # the hospital's charges, the doctors' fees (ACT_COD: IR_NAT_V codes)


def outpatient(tables: set[str], dialect: Dialect, visits: str = "mco_visits") -> list[str]:
    """Public hospitals' outpatient visits (ACE), and the charges and fees billed for each, on the
    visit's day plus the act's delay (DEL_DAT_ENT)."""
    yearly = PMSI_YEARS in tables
    group = _keys((*VISIT, *([YEAR] if yearly else [])), "v.")
    common = {"person": "v.NIR_ANO_17", "group_id": group}
    out = [event(f"{q(visits)} AS v", category="mco_outpatient_visit", value="v.ETA_NUM", start="v.EXE_SOI_DTD",
                 **common)]
    day = dialect.add_days("CAST(v.EXE_SOI_DTD AS DATE)", "COALESCE(f.DEL_DAT_ENT, 0)")
    for table in (t for t in OUTPATIENT_ACTS if t in tables):
        on = same_stay("v", "f", yearly=yearly, keys=VISIT)
        out.append(event(f"{q(visits)} AS v JOIN {q(table)} AS f ON {on}", category="mco_outpatient_act",
                         value="f.ACT_COD", weight="f.ACT_NBR", start=day, where="f.ACT_COD IS NOT NULL", **common))
    return out


def long_term_illnesses() -> list[str]:
    exempted = ", ".join(str(n) for n in ALD_EXEMPTIONS)
    return [event(q("IR_IMB_R"), person="BEN_NIR_PSA", category="ald", value="MED_MTF_COD", start="IMB_ALD_DTD",
                  end="IMB_ALD_DTF", group_id="IMB_ALD_NUM", where=f"IMB_ETM_NAT IN ({exempted})")]


def deaths() -> list[str]:
    """One death per person, reconciled from its sources (analytics.deaths)."""
    return [event(q("deaths"), person="person", category="death", value="'death'", start="death_date",
                  end="death_date")]


def death_causes(tables: set[str]) -> list[str]:
    """The underlying cause (KI_CCI_R), and every cause the certificate names (KI_ECD_R), each
    with its line on the certificate and its rank on that line."""
    out, on_the_day = [], {"person": "b.BEN_NIR_PSA", "start": "k.BEN_DCD_DTE", "end": "k.BEN_DCD_DTE"}
    if "KI_CCI_R" in tables:
        out.append(event(linked_to_persons("KI_CCI_R"), category="death_cause", value="k.DCD_CIM_COD",
                         where="k.DCD_CIM_COD IS NOT NULL", **on_the_day))
    if "KI_ECD_R" in tables:
        out.append(event(linked_to_persons("KI_ECD_R"), category="death_certificate_cause", value="k.ECD_CIM_COD",
                         weight="k.ECD_CAU_RNG", group_id="k.CER_LIG_NUM", where="k.ECD_CIM_COD IS NOT NULL",
                         **on_the_day))
    return out


def events_sql(tables: set[str], flat: set[str], dialect: Dialect) -> str | None:
    """All the categories the extract allows, stacked. `tables` names the extract's tables and
    the views built over them (`dcir_flat`, `mco`, `drug_dispensations`); `flat` the flat DCIR's columns."""
    parts = []
    if "drug_dispensations" in tables:
        parts += drugs()
    if "mco" in tables:
        parts += diagnoses(tables) + hospital_stays()
    parts += acts(tables, dialect) + coded_care(flat)
    if "mco_visits" in tables:
        parts += outpatient(tables, dialect)
    if "IR_IMB_R" in tables:
        parts += long_term_illnesses()
    if "deaths" in tables:
        parts += deaths()
    if "IR_BEN_R" in tables:
        parts += death_causes(tables)
    return " UNION ALL ".join(parts) if parts else None

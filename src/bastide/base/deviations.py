"""Where real SNDS deliveries depart from schema-snds, each departure with its source.

The schema-snds files stay as they were copied (snds_schema/SOURCE.md); these corrections are
applied when the SNDS registry is loaded, so that ingest accepts what the real base holds and
the documentation describes, instead of rejecting a whole monthly delivery for it:

- T_MCOaaC.DAT_RET is declared `enum ['0']`, but it is a return code of the patient chaining
  like the others (fiches/requete_type_pmsi_mco.md, « code retour contrôle date de référence »),
  and the chaining filter of fiches/fiche_beneficiaire.md tests it because it is not always '0';
- IR_BEN_R.BEN_NIR_PSA is declared `unique`, which schema-snds itself calls false (« Unicité
  fausse sans le rang gémellaire »): twins share their parent's pseudo-NIR and differ by
  BEN_RNG_GEM; the primary key (BEN_NIR_PSA, BEN_RNG_GEM) stays; and IR_BEN_R.BEN_IDT_ANO,
  declared `unique` too, identifies a person, who has a row per pseudo-NIR (fiches/
  fiche_beneficiaire.md: « un individu a plusieurs pseudo-NIR »; sndsTools' retrieve_patient_id
  gathers every BEN_NIR_PSA of a BEN_IDT_ANO);
- NIR_ANO_17 holds placeholders when the patient could not be identified
  (`xxxxxxxxxxxxxxxxx`, `XXXXXXXXXXXXXXXXD`, fiches/fiche_beneficiaire.md): they name nobody, so a
  foreign key to IR_BEN_R does not look for them (the analytics layer and the cohorts leave
  those stays out, analytics/pmsi.py);
- schema-snds points PHA_PRS_IDE (the 7-digit CIP) at IR_PHA_R's primary key, the 13-digit CIP,
  and EB_PHA_F's quantities and prices at IR_PHA_R too (fiches/medicament.md: a CIP7 matches
  IR_PHA_R.PHA_PRS_IDE, a CIP13 PHA_CIP_C13): checked against those, every dispensation would
  fail once IR_PHA_R is delivered;
- ER_PRS_F.PFS_EXE_NUM, PFS_PRE_NUM are declared 9 characters at least, but point at
  DA_PRA_R.PFS_PFS_NUM, declared 8 characters, as are the same numbers in every other table
  (EB_PRS_F, the DCIRS NS_* tables; the CNAM dictionary of 2018 says « string (8) » everywhere but
  ER_PRS_F): with the minimum, no prestation could name a professional of DA_PRA_R, so the
  minimum goes and the length of 9 stays as a maximum;
- IR_BEN_R_ARC, the archive of the beneficiaries' referential, is not in schema-snds, but the
  documentation reads it with IR_BEN_R at every step where persons are identified (guide CépiDc,
  chapters 3 and 4: « si le champ ben_idt_ano ne figure pas dans IR_BEN_R, vous le recherchez dans
  le référentiel archivé IR_BEN_R_ARC »; fiches/sas_prestation_dcir.md): it has IR_BEN_R's columns,
  and a row that points at IR_BEN_R (a prestation's BEN_NIR_PSA, BEN_RNG_GEM) may find its
  beneficiary in either."""

from __future__ import annotations

from dataclasses import replace

PLACEHOLDER_NIR = ("xxxxxxxxxxxxxxxxx", "XXXXXXXXXXXXXXXXD")
DROPPED = {("T_MCOaaC", "DAT_RET"): "enum", ("IR_BEN_R", "BEN_NIR_PSA"): "unique",
           ("IR_BEN_R", "BEN_IDT_ANO"): "unique", ("ER_PRS_F", "PFS_EXE_NUM"): "minLength",
           ("ER_PRS_F", "PFS_PRE_NUM"): "minLength"}  # constraints the base breaks
ARCHIVES = {"IR_BEN_R": "IR_BEN_R_ARC"}  # a referential, and the archive of the rows it no longer holds
ADDED = {archive: table for table, archive in ARCHIVES.items()}  # tables schema-snds lacks: whose columns they have
UNLINKED_VALUES = {"NIR_ANO_17": PLACEHOLDER_NIR}  # values of a foreign key column that name nothing
NOMENCLATURES = {"PHA_PRS_IDE": "IR_PHA_R:PHA_PRS_IDE", "PHA_ACT_QSN": "", "PHA_CPA_PCP": "", "PHA_DEC_QSU": "",
                 "PHA_DEC_PRU": ""}  # a column's nomenclature, in every table: "" for none

# The SNDS writes a missing date as a date: IR_BEN_R.BEN_DCD_DTE is 1600-01-01 for the living and
# for deaths whose scheme does not send the date (guide_cepidc, 2-Chap2CausesDeces.md: « elle est
# forcée au 1er janvier 1600 »); 0001-01-01 and 2600-01-01 fill other tables' empty dates.
FIRST_REAL_DATE, LAST_REAL_DATE = "1800-01-01", "2500-12-31"


def _column(table: str, column):
    dropped = DROPPED.get((table, column.name))
    if dropped:
        column = replace(column, constraints={k: v for k, v in column.constraints.items() if k != dropped})
    if column.name in NOMENCLATURES and column.nomenclature.startswith("IR_PHA_R"):
        column = replace(column, nomenclature=NOMENCLATURES[column.name])
    return column


def corrected(schema):
    """The TableSchema with the departures above applied."""
    columns = tuple(_column(schema.name, c) for c in schema.columns)
    keys = tuple(replace(fk, unlinked=UNLINKED_VALUES[fk.fields[0]])
                 if len(fk.fields) == 1 and fk.fields[0] in UNLINKED_VALUES else fk for fk in schema.foreign_keys)
    return replace(schema, columns=columns, foreign_keys=keys)


def added(tables: dict) -> dict:
    """The tables schema-snds lacks (ADDED), each a copy of the table it mirrors under its own name."""
    return {name: replace(tables[like], name=name) for name, like in ADDED.items() if like in tables}

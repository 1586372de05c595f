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
  fail once IR_PHA_R is delivered."""

from __future__ import annotations

from dataclasses import replace

PLACEHOLDER_NIR = ("xxxxxxxxxxxxxxxxx", "XXXXXXXXXXXXXXXXD")
DROPPED = {("T_MCOaaC", "DAT_RET"): "enum", ("IR_BEN_R", "BEN_NIR_PSA"): "unique",
           ("IR_BEN_R", "BEN_IDT_ANO"): "unique"}  # constraints the base breaks
UNLINKED_VALUES = {"NIR_ANO_17": PLACEHOLDER_NIR}  # values of a foreign key column that name nothing
NOMENCLATURES = {"PHA_PRS_IDE": "IR_PHA_R:PHA_PRS_IDE", "PHA_ACT_QSN": "", "PHA_CPA_PCP": "", "PHA_DEC_QSU": "",
                 "PHA_DEC_PRU": ""}  # a column's nomenclature, in every table: "" for none


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

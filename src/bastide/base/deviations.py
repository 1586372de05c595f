"""Where real SNDS deliveries depart from schema-snds, each departure with its source.

The schema-snds files stay as they were copied (snds_schema/SOURCE.md); these corrections are
applied when the SNDS registry is loaded, so that ingest accepts what the real base holds and
the documentation describes, instead of rejecting a whole monthly delivery for it:

- T_MCOaaC.DAT_RET is declared `enum ['0']`, but it is a return code of the patient chaining
  like the others (fiches/requete_type_pmsi_mco.md, « code retour contrôle date de référence »),
  and the chaining filter of fiches/fiche_beneficiaire.md tests it because it is not always '0';
- NIR_ANO_17 holds placeholders when the patient could not be identified
  (`xxxxxxxxxxxxxxxxx`, `XXXXXXXXXXXXXXXXD`, fiches/fiche_beneficiaire.md): they name nobody, so a
  foreign key to IR_BEN_R does not look for them (the analytics layer and the cohorts leave
  those stays out, analytics/pmsi.py)."""

from __future__ import annotations

from dataclasses import replace

PLACEHOLDER_NIR = ("xxxxxxxxxxxxxxxxx", "XXXXXXXXXXXXXXXXD")
DROPPED_ENUMS = {("T_MCOaaC", "DAT_RET")}
UNLINKED_VALUES = {"NIR_ANO_17": PLACEHOLDER_NIR}  # values of a foreign key column that name nothing


def corrected(schema):
    """The TableSchema with the departures above applied."""
    columns = tuple(replace(c, constraints={k: v for k, v in c.constraints.items() if k != "enum"})
                    if (schema.name, c.name) in DROPPED_ENUMS else c for c in schema.columns)
    keys = tuple(replace(fk, unlinked=UNLINKED_VALUES[fk.fields[0]])
                 if len(fk.fields) == 1 and fk.fields[0] in UNLINKED_VALUES else fk for fk in schema.foreign_keys)
    return replace(schema, columns=columns, foreign_keys=keys)

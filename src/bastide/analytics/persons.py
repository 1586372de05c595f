"""One row per person of the extract (view `persons`), with what the SNDS says of identities.

In an extract, BEN_NIR_PSA is already the person's project pseudonym, whatever pseudo-NIR a row
was recorded under (workspaces/identities.py), so IR_BEN_R holds a row per pseudo-NIR of each
person. The rows of one person can disagree — sndsTools' retrieve_patient_id keeps a flag rather
than choose: `sex` and `birth_year` are given when the rows agree, and the flags say when not.
`provisional`: a NIR awaiting its check (BEN_CDI_NIR 03, 04; fiches/fiche_beneficiaire.md);
fictitious NIRs are never in an extract."""

from __future__ import annotations

from bastide.analytics.sql import Columns, listed, q

PROVISIONAL_NIR = ("03", "04")


def _agreed(column: str) -> tuple[str, str]:
    """(the value when every row agrees, else NULL; whether they disagree)."""
    disagree = f"count(DISTINCT {column}) > 1"
    return f"CASE WHEN {disagree} THEN NULL ELSE min({column}) END", disagree


def persons_sql(columns: Columns) -> str | None:
    ben = set(columns.get("IR_BEN_R", ()))
    if "BEN_NIR_PSA" not in ben:
        return None
    cells = ["BEN_NIR_PSA AS person", "count(*) AS pseudo_nirs"]
    for column, name in (("BEN_SEX_COD", "sex"), ("BEN_NAI_ANN", "birth_year")):
        if column in ben:
            value, disagree = _agreed(column)
            cells += [f"{value} AS {name}", f"{disagree} AS {name}_inconsistent"]
    if "BEN_CDI_NIR" in ben:
        cells.append(f"max(CASE WHEN BEN_CDI_NIR IN ({listed(PROVISIONAL_NIR)}) THEN 1 ELSE 0 END) = 1 AS provisional")
    return f"SELECT {', '.join(cells)} FROM {q('IR_BEN_R')} GROUP BY BEN_NIR_PSA"

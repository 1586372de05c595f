"""The SNDS rules the integration tests compute their expectations with, written from the
documentation (never from the code under test), for rows as dicts (CSV text or typed values)."""

from __future__ import annotations

RETURN_CODES = ("NIR_RET", "NAI_RET", "SEX_RET", "SEJ_RET", "FHO_RET", "PMS_RET", "DAT_RET", "COH_NAI_RET",
                "COH_SEX_RET")
PLACEHOLDERS = ("xxxxxxxxxxxxxxxxx", "XXXXXXXXXXXXXXXXD")
FICTITIOUS = ("01", "05", "06", "08", "09", "11", "12", "13", "14", "15")  # IR_NIR_V, TOP_NIR_SNI = 1


def chained(c: dict) -> bool:
    """fiches/fiche_beneficiaire.md: a T_MCOaaC row links to its patient when every return code is
    '0' (false) and NIR_ANO_17 is not a placeholder."""
    return all(c.get(code) in (None, "", "0", "false", False) for code in RETURN_CODES) and \
        c["NIR_ANO_17"] not in PLACEHOLDERS


def counted(b: dict) -> bool:
    """fiches/scalpel_pipeline.md: a T_MCOaaB row counts unless its GHM is an error (90), its GHS
    9999, or it is an inter-facility RSA other than a session (GHM 28) but 28Z14Z-16Z. (The
    duplicate FINESS end in 2017, before the synthetic years.)"""
    ghm = b["GRG_GHM"] or ""
    inter = b["SEJ_TYP"] == "B" and not (ghm.startswith("28") and ghm not in ("28Z14Z", "28Z15Z", "28Z16Z"))
    return not ghm.startswith("90") and str(b["GHS_NUM"]) != "9999" and not inter


def fictitious(ben: dict) -> bool:
    """fiches/fiche_beneficiaire.md: a fictitious NIR names no person."""
    return ben.get("BEN_CDI_NIR") in FICTITIOUS


def person_id(ben: dict) -> str:
    """fiches/fiche_beneficiaire.md and sndsTools: an IR_BEN_R row's person is its BEN_IDT_ANO,
    else its BEN_NIR_ANO, else its pseudo-NIR and rank."""
    return ben.get("BEN_IDT_ANO") or ben.get("BEN_NIR_ANO") or f"{ben['BEN_NIR_PSA']}_{ben['BEN_RNG_GEM']}"


def with_archive(ben_rows: list[dict], archived_rows: list[dict]) -> list[dict]:
    """IR_BEN_R's rows and IR_BEN_R_ARC's it lacks (guide CépiDc ch. 3: look in IR_BEN_R, then the archive)."""
    pairs = {(r["BEN_NIR_PSA"], str(r["BEN_RNG_GEM"])) for r in ben_rows}
    return ben_rows + [r for r in archived_rows if (r["BEN_NIR_PSA"], str(r["BEN_RNG_GEM"])) not in pairs]


class Persons:
    """The persons of IR_BEN_R's rows (with the archive's: `with_archive`), and whom a pseudo-NIR
    (with its rank, if any) names."""

    def __init__(self, ben_rows: list[dict]):
        self.by_pair, self.by_nir = {}, {}
        for row in ben_rows:
            person = person_id(row)
            self.by_pair[(row["BEN_NIR_PSA"], str(row["BEN_RNG_GEM"]))] = person
            self.by_nir.setdefault(row["BEN_NIR_PSA"], set()).add(person)

    def of(self, nir: str, rank=None) -> str | None:
        """A pseudo-NIR of one person names that person; twins' shared one needs the rank."""
        found = self.by_nir.get(nir, set())
        if len(found) == 1:
            return next(iter(found))
        return self.by_pair.get((nir, str(rank))) if rank not in (None, "") else None

    def nirs_of(self, persons: set[str]) -> set[tuple[str, str]]:
        """Every (pseudo-NIR, rank) of these persons."""
        return {pair for pair, person in self.by_pair.items() if person in persons}

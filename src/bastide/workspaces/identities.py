"""A person, not a pseudo-NIR (issue 15): the extract's cohort, pseudonyms and opt-outs are per
person, whatever pseudo-NIR each row was recorded under.

documentation-snds, fiches/fiche_beneficiaire.md: « un individu a plusieurs pseudo-NIR durant sa
vie » (as a child on a parent's insurance, then on their own); twins of the same sex share their
parent's BEN_NIR_PSA and differ by BEN_RNG_GEM; the person is identified in IR_BEN_R by
BEN_IDT_ANO (sndsTools' retrieve_patient_id gathers every BEN_NIR_PSA of a BEN_IDT_ANO), else by
BEN_NIR_ANO (the person's own NIR), else by the pair (BEN_NIR_PSA, BEN_RNG_GEM) (the fiche's
BEN_ID). The PMSI has no BEN_RNG_GEM: its NIR_ANO_17 names a person when that pseudo-NIR is one
person's, or with the birth rank RNG_NAI where T_MCOaaC has it (the fiche: « pour départager après
coup les NIR_ANO_17 correspondant à des naissances gémellaires »); a twin's stay without it is
left out rather than given to both.

`identities` (materialised once per extract, from all of IR_BEN_R): BEN_NIR_PSA, BEN_RNG_GEM,
person, `shared` (the pseudo-NIR is several persons'), `lead` (one row per pseudo-NIR, for rows
that are matched by their pseudo-NIR alone)."""

from __future__ import annotations

from bastide.errors import InvalidInput

IDENTITIES = "identities"
NIR_COLUMNS = ("BEN_NIR_PSA", "NIR_ANO_17")  # a row's pseudo-NIR, in DCIR and referentials, in PMSI
RANK_COLUMNS = ("BEN_RNG_GEM", "RNG_NAI")  # what tells persons of one pseudo-NIR apart


def person_of(names, alias: str = "") -> str:
    """The person an IR_BEN_R row (columns `names`, aliased `alias`) is: BEN_IDT_ANO, else
    BEN_NIR_ANO, else its pseudo-NIR and rank."""
    a = f"{alias}." if alias else ""
    pair = f"concat(CAST({a}BEN_NIR_PSA AS STRING), '_', CAST({a}BEN_RNG_GEM AS STRING))"
    found = [f"CAST({a}{c} AS STRING)" for c in ("BEN_IDT_ANO", "BEN_NIR_ANO") if c in names]
    return f"COALESCE({', '.join([*found, pair])})"


def identities_sql(ben_names, source: str) -> str:
    """SELECT BEN_NIR_PSA, BEN_RNG_GEM, person, shared, lead from IR_BEN_R (`source`)."""
    if not {"BEN_NIR_PSA", "BEN_RNG_GEM"} <= set(ben_names):
        raise InvalidInput("the snapshot's IR_BEN_R lacks BEN_NIR_PSA or BEN_RNG_GEM: persons cannot be identified",
                           code="persons_unidentified_keys")
    rows = f"SELECT DISTINCT BEN_NIR_PSA, BEN_RNG_GEM, {person_of(ben_names)} AS person FROM {source}"
    per_nir = ("SELECT BEN_NIR_PSA, count(DISTINCT person) > 1 AS shared, min(BEN_RNG_GEM) AS first_rank "
               f"FROM ({rows}) AS r GROUP BY BEN_NIR_PSA")
    return ("SELECT r.BEN_NIR_PSA, r.BEN_RNG_GEM, r.person, n.shared, r.BEN_RNG_GEM = n.first_rank AS lead "
            f"FROM ({rows}) AS r JOIN ({per_nir}) AS n ON r.BEN_NIR_PSA = n.BEN_NIR_PSA")


def nir_column(names) -> str | None:
    return next((c for c in NIR_COLUMNS if c in names), None)


def same_person(alias: str, names, identity: str = "i") -> str:
    """The ON clause joining a row (aliased `alias`, columns `names`) to its identity: by its
    pseudo-NIR where that is one person's, by its rank where it is several persons'."""
    nir, rank = nir_column(names), next((c for c in RANK_COLUMNS if c in names), None)
    by_nir = f"{identity}.BEN_NIR_PSA = {alias}.{nir}"
    alone = f"{identity}.lead AND NOT {identity}.shared"
    if rank is None:
        return f"{by_nir} AND {alone}"
    ranked = f"CAST({identity}.BEN_RNG_GEM AS STRING) = CAST({alias}.{rank} AS STRING)"
    return f"{by_nir} AND ({alone} OR {identity}.shared AND {ranked})"

"""Hand-made source tables set up as an extract build sees them, for the compile SQL's tests."""

from __future__ import annotations

import pyarrow as pa

from bastide.workspaces.compile import COHORT, OPTOUT
from bastide.workspaces.extract import with_archive
from bastide.workspaces.identities import IDENTITIES, identities_sql


def persons_table(*nirs: str) -> pa.Table:
    """IR_BEN_R with one row per pseudo-NIR, each its own person (BEN_IDT_ANO = the pseudo-NIR)."""
    return pa.table({"BEN_NIR_PSA": list(nirs), "BEN_RNG_GEM": [1] * len(nirs), "BEN_IDT_ANO": list(nirs)})


def as_sources(engine, tables: dict[str, pa.Table], optouts: tuple[str, ...] = ()) -> dict[str, pa.Schema]:
    """Each table as `src_<TABLE>`, the opt-outs, and the identities the cohort is resolved with
    (a DuckDB engine; what an earlier call materialised is dropped)."""
    for name in (IDENTITIES, COHORT):
        engine.con.execute(f'DROP TABLE IF EXISTS "{name}"')
    archived = "IR_BEN_R_ARC" in tables  # read with IR_BEN_R as the extract does (extract.with_archive)
    for name, table in tables.items():
        engine.register(f"src_{name}" + ("__current" if archived and name == "IR_BEN_R" else ""), table)
    if archived:
        engine.define_view("src_IR_BEN_R", with_archive("IR_BEN_R", tables["IR_BEN_R"].schema, "IR_BEN_R_ARC",
                                                        tables["IR_BEN_R_ARC"].schema))
    engine.register(OPTOUT, pa.table({"pseudonym": pa.array(list(optouts), pa.string())}))
    engine.materialise(IDENTITIES, identities_sql(tables["IR_BEN_R"].schema.names, '"src_IR_BEN_R"'))
    return {n: t.schema for n, t in tables.items()}

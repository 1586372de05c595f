"""Workspace extract, provisioning and query figures, as ratios to baselines measured in the same run.

    .venv/bin/python bench/extract.py --beneficiaries 850000     # >= 20 M DCIR prestation rows

1. extract throughput: a 3-year drug-dispensation cohort (everyone with a dispensation of the
   most dispensed ATC4 class, with all their ER_PRS_F and ER_PHA_F rows of care in those years)
   built by `workspaces.extract.build` (persons identified, cohort, filter, pseudonyms and
   claim/stay/professional surrogates, encrypt, write, read back) vs a raw DuckDB `COPY (the same
   SELECT) TO parquet`: the same sources registered over the same decrypting scans (the same flux
   months), the same identities, cohort and claims tables, the same filters, minimisation and
   coarsened dates, but no pseudonym (not even the cohort's), no surrogate, unencrypted output and
   no read-back. Rounds interleave the two sides (the order alternating) after one warm-up round
   of each; the median of the rounds is compared. Also vs the published national-portal rate
   (171 M rows in 2,300-2,600 s, about 70 k rows/s).

Permit to usable workspace and the sandboxed workspace query: bench/boundary.py.
"""

from __future__ import annotations

import argparse
import secrets
import statistics
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pyarrow as pa

from bastide.base.ingest import IngestRequest, ingest
from bastide.catalogue import service as catalogue
from bastide.config import Settings
from bastide.governance import criteria, permits
from bastide.governance import service as gov
from bastide.identity import service as identity
from bastide.platform import Platform, operator_actor
from bastide.workspaces import extract
from bastide.workspaces.compile import CLAIMS, COHORT, OPTOUT, claims_sql, cohort_sql, table_plan
from bastide.query.engine import DuckDBEngine
from bastide.workspaces.identities import IDENTITIES, identities_sql
from bastide.query.source import open_table, snapshot_files
from bastide.workspaces.spec import ExtractSpec, Population

sys.path.insert(0, str(Path(__file__).parent))
from ingest import delivery  # noqa: E402 - the same cached synthetic delivery as bench/ingest.py

PORTAL_ROWS_PER_S = 171_000_000 / 2450
YEARS = (2022, 2023, 2024)


def published(root: Path, beneficiaries: int, seed: int) -> Platform:
    source = delivery(root, beneficiaries, seed)
    home = root / f"home-{source.name}"
    platform = Platform(Settings(home=home, env="test", duckdb_threads=2))
    platform.init(operator_actor())
    with platform.db.unit_of_work() as s:
        done = any(x.ref == "snds@bench" for d in catalogue.list_datasets(s) for x in catalogue.list_snapshots(s, d))
    if not done:
        began = time.monotonic()
        ingest(platform, actor=operator_actor(), request=IngestRequest(str(source), "snds", "bench"))
        print(f"ingest (once, kept in {home}): {time.monotonic() - began:.0f} s")
    return platform


def most_dispensed_class(platform: Platform) -> str:
    """The ATC4 class (IR_PHA_R, by CIP13) most dispensed in 2023."""
    with platform.db.unit_of_work() as s:
        files = snapshot_files(platform.store, catalogue.get_snapshot(s, "snds@bench"))
        con = duckdb.connect()
        con.register("pha", open_table(s, store=platform.store, keys=platform.keys, files=files.of("ER_PHA_F", (2023,))).dataset)
        con.register("drugs", open_table(s, store=platform.store, keys=platform.keys, files=files.of("IR_PHA_R")).dataset)
        return con.sql("SELECT substr(PHA_ATC_C07, 1, 4) FROM pha JOIN drugs ON PHA_CIP_C13 = PHA_PRS_C13 "
                       "WHERE PHA_ATC_C07 IS NOT NULL GROUP BY 1 ORDER BY count(*) DESC LIMIT 1").fetchall()[0][0]


# What a drug-utilisation study asks for (data minimisation): who, when, what, how much, by whom.
# The DCIR keys and person identifiers come with any column list.
STUDY_COLUMNS = ("BEN_RNG_GEM", "BEN_SEX_COD", "BEN_NAI_ANN", "BEN_RES_DPT", "EXE_SOI_DTD", "PRS_NAT_REF",
                 "PRS_ACT_QTE", "PRS_PAI_MNT", "BSE_REM_MNT", "PSE_SPE_COD", "PSP_SPE_COD", "ETB_PRE_FIN",
                 "PRS_PPU_SEC", "PHA_PRS_C13", "PHA_PRS_IDE", "PHA_ACT_QSN", "PHA_ACT_PRU", "PHA_SEQ_RNV",
                 "PHA_DEC_TOP", "PHA_SUB_MTF")


def spec_for(ref: str, merkle_root: str, population: Population, tables=("ER_PHA_F", "ER_PRS_F"),
             columns: tuple[str, ...] = ()) -> ExtractSpec:
    return ExtractSpec(permit="PRM-bench", snapshot=ref, merkle_root=merkle_root, tables=tables, columns=columns,
                       years=YEARS, population=population, optout_as_of="2026-01-01T00:00:00+00:00")


def raw_copy(platform: Platform, spec: ExtractSpec, out: Path) -> tuple[float, int]:
    """The same sources, identities, cohort, claims, filters and columns, person columns left as
    they are (no pseudonym, no surrogate), written unencrypted and not read back."""
    engine = DuckDBEngine(memory_limit=platform.settings.duckdb_memory_limit, threads=2)
    key = b"k" * 32
    with platform.db.unit_of_work() as s:
        snapshot = catalogue.get_snapshot(s, spec.snapshot)
        files = snapshot_files(platform.store, snapshot)
        began = time.monotonic()
        schemas = extract.register_sources(s, engine=engine, store=platform.store, keys=platform.keys, files=files,
                                           tables=sorted(set(spec.tables) | (set(extract.LINK_TABLES) & files.tables)),
                                           years=spec.years, last_flux_month=spec.last_flux_month)
        engine.register(OPTOUT, pa.table({"pseudonym": pa.array([], pa.string())}))
        engine.materialise(IDENTITIES, identities_sql(schemas["IR_BEN_R"].names, '"src_IR_BEN_R"'))
        engine.materialise(COHORT, cohort_sql(spec, schemas, key, pseudonymise=False))
        engine.materialise(CLAIMS, claims_sql(spec, schemas, key, surrogates=False))
        rows = 0
        for table in spec.tables:
            select = table_plan(table, schemas[table], spec, key, pseudonymise=False).sql
            engine.con.execute(f"COPY ({select}) TO '{out / table}.parquet' (FORMAT parquet, COMPRESSION zstd)")
            rows += engine.con.execute(f"SELECT count(*) FROM '{out / table}.parquet'").fetchall()[0][0]
        seconds = time.monotonic() - began
    engine.close()
    return seconds, rows


def ours(platform: Platform, spec: ExtractSpec, engine=None) -> tuple[float, int]:
    """`workspaces.extract.build` timed, on DuckDB unless another engine is given (closed after)."""
    engine = engine or DuckDBEngine(memory_limit=platform.settings.duckdb_memory_limit, threads=2)
    prefix = f"bench/extract-{secrets.token_hex(4)}"
    with platform.db.unit_of_work() as s:
        snapshot = catalogue.get_snapshot(s, spec.snapshot)
        began = time.monotonic()
        body = extract.build(s, engine=engine, store=platform.store, keys=platform.keys, snapshot=snapshot, spec=spec,
                             pseudonym_key=secrets.token_bytes(32), excluded=[],
                             target=extract.Target(platform.store, prefix, "dk-bench", secrets.token_bytes(32)))
        seconds = time.monotonic() - began
        s.rollback()
    engine.close()
    platform.store.delete_prefix(prefix)
    return seconds, sum(t["rows"] for t in body["tables"].values())


def granted_permit(platform: Platform, scope: dict, **form) -> tuple[int, object]:
    """An application through to a permit, as the governance services do it (`form`: more of its fields)."""
    op, tag = operator_actor(), secrets.token_hex(3)
    with platform.db.unit_of_work() as s:
        org = identity.create_organisation(s, actor=op, name=f"Bench {tag}", sector="public")
        until = date.today() + timedelta(days=30)
        users = {role: identity.create_user(s, actor=op, email=f"{role}-{tag}@bench.example", name=role,
                                            organisation=org, roles={role}, end_of_rights=until)
                 for role in ("researcher", "instructor", "legal_recorder")}
        actors = {role: identity.actor_of(u) for role, u in users.items()}
        form = {"persons": [users["researcher"].email], "functions": "bench", "purpose": "e", "use": "bench",
                "data": scope, "pseudonymised": True, "pseudonymisation_justification": "bench",
                "gdpr_compliance": "bench", "brought_datasets": [], "safeguards": "SPE", "duration_months": 12,
                "tools": "DuckDB", "ethics": "n/a", "optout_exception": "none", **form}
        app = gov.create_application(s, actor=actors["researcher"], user=users["researcher"], title="bench",
                                     procedure="MR-004", form=form)
        for who, action in (("researcher", "submit"), ("instructor", "screen"), ("instructor", "accept")):
            gov.act(s, actor=actors[who], app=app, action=action)
        for criterion in criteria.ITEMS:
            gov.assess(s, actor=actors["instructor"], app=app, criterion=criterion, met=True, note="")
        gov.record_opinion(s, actor=actors["legal_recorder"], app=app, kind="cnil", reference="MR", on=date.today(),
                           outcome="declared")
        permit = permits.grant(s, actor=actors["instructor"], app=app, signer=platform.signer)
        return permit.id, actors["researcher"]


def base_parser(doc: str, beneficiaries: int) -> argparse.ArgumentParser:
    """The options every benchmark on a published synthetic base takes (the base is made once per size)."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--beneficiaries", type=int, default=beneficiaries)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "out")
    return parser


def main() -> None:
    parser = base_parser(__doc__, 850_000)
    parser.add_argument("--rounds", type=int, default=3, help="measured rounds per side, after one warm-up each")
    args = parser.parse_args()
    platform = published(args.out, args.beneficiaries, args.seed)
    with platform.db.unit_of_work() as s:
        snapshot = catalogue.get_snapshot(s, "snds@bench")
        dcir = sum(t.rows for t in snapshot.tables if t.name == "ER_PRS_F")
        ref, merkle_root, total = snapshot.ref, snapshot.merkle_root, snapshot.rows
    atc = most_dispensed_class(platform)
    print(f"snapshot: {total:,} rows, ER_PRS_F {dcir:,}; cohort: dispensations of ATC class {atc}, care in {YEARS}, "
          f"flux months to {spec_for(ref, merkle_root, Population()).last_flux_month}")
    for label, columns in (("every column", ()), (f"{len(STUDY_COLUMNS)} study columns", tuple(sorted(STUDY_COLUMNS)))):
        spec = spec_for(ref, merkle_root, Population(atc=(atc,)), columns=columns)
        times = {"raw": [], "ours": []}
        for round_ in range(args.rounds + 1):  # round 0 warms both sides; then the order alternates
            for side in (("raw", "ours") if round_ % 2 else ("ours", "raw")):
                if side == "raw":
                    with tempfile.TemporaryDirectory() as tmp:
                        seconds, raw_rows = raw_copy(platform, spec, Path(tmp))
                else:
                    seconds, our_rows = ours(platform, spec)
                if round_:
                    times[side].append(seconds)
        assert our_rows == raw_rows, (our_rows, raw_rows)
        raw_s, our_s = statistics.median(times["raw"]), statistics.median(times["ours"])
        print(f"extract, {label}: raw COPY {raw_s:.1f} s ({raw_rows / raw_s:,.0f} rows/s), ours {our_s:.1f} s "
              f"({our_rows / our_s:,.0f} rows/s, {our_rows:,} rows) -> {raw_s / our_s:.2f}x of raw COPY, "
              f"{our_rows / our_s / PORTAL_ROWS_PER_S:.1f}x the national portal's {PORTAL_ROWS_PER_S:,.0f} rows/s "
              f"(medians of {args.rounds} interleaved rounds: raw {[round(t, 1) for t in times['raw']]}, "
              f"ours {[round(t, 1) for t in times['ours']]})")

    platform.close()


if __name__ == "__main__":
    main()

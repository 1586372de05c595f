"""Disclosure checks: cell-level agreement with ACRO on the rules both implement, and speed.

    .venv/bin/python bench/airlock.py     # installs ACRO in bench/out/acro-venv the first time

Microdata: acts of the cached synthetic delivery (ER_PRS_F): sex, age band, specialty, nature
of the act, département, amount paid. Each table is built twice from the same rows: by ACRO's
`crosstab` (in its own virtual environment; it pins an older pandas), and by DuckDB into a long
CSV (cells, n, and for magnitude tables total, with top1, top2 in the evidence file beside it)
that `airlock.check.check_file` reads.
Rules compared: minimum threshold (ACRO's threshold counts zeros too: ours are min_count and
zeros) and dominance (ACRO's p-ratio or (n, k); ours in one rule). Same parameters (ACRO's).
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb

from bastide.airlock.check import check_file
from bastide.airlock.rules import Parameters

sys.path.insert(0, str(Path(__file__).parent))
from ingest import delivery  # noqa: E402 - the same cached synthetic delivery

OUT = Path(__file__).parent / "out"
ACRO_VENV = OUT / "acro-venv"
TABLES = [  # (rows of microdata used, row variable, column variable, magnitude?)
    (2_000, "sex", "age_band", False),
    (3_000, "specialty", "age_band", False),
    (2_000, "department", "sex", False),
    (5_000, "nature", "sex", False),
    (3_000, "specialty", "sex", True),
    (6_000, "nature", "age_band", True),
    (4_000, "department", "age_band", True),
]
SPEED = (200_000, "department", "specialty", False)  # about 5,000 cells


def acro_python() -> Path:
    python = ACRO_VENV / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(ACRO_VENV)], check=True)
        subprocess.run([str(ACRO_VENV / "bin" / "pip"), "install", "-q", "acro"], check=True)
    return python


def microdata(folder: Path, out: Path) -> int:
    con = duckdb.connect()
    con.execute(f"""COPY (
        SELECT BEN_SEX_COD AS sex,
               CASE WHEN 2023 - BEN_NAI_ANN < 18 THEN '0-17' WHEN 2023 - BEN_NAI_ANN < 40 THEN '18-39'
                    WHEN 2023 - BEN_NAI_ANN < 65 THEN '40-64' WHEN 2023 - BEN_NAI_ANN < 80 THEN '65-79'
                    ELSE '80+' END AS age_band,
               CAST(PSE_SPE_COD AS VARCHAR) AS specialty, CAST(PRS_NAT_REF AS VARCHAR) AS nature,
               BEN_RES_DPT AS department, PRS_PAI_MNT AS amount
        FROM read_csv('{folder}/ER_PRS_F/ER_PRS_F_2023.csv', delim=';', header=true)
        WHERE PRS_PAI_MNT IS NOT NULL ORDER BY hash(BEN_NIR_PSA, PRS_ORD_NUM, DCT_ORD_NUM)
    ) TO '{out}' (HEADER, DELIMITER ',')""")
    return con.sql(f"SELECT count(*) FROM read_csv('{out}')").fetchall()[0][0]


def our_table(micro: Path, spec: tuple, out: Path) -> tuple[Path, dict]:
    """The same table, long: every row x column category (the crosstab's grid), with its evidence."""
    rows, index, columns, magnitude = spec
    Path(f"{out}.sdc.csv").unlink(missing_ok=True)  # no evidence left from the previous table
    con = duckdb.connect()
    con.execute(f"CREATE TABLE m AS SELECT * FROM read_csv('{micro}', all_varchar=true) LIMIT {rows}")
    con.execute("ALTER TABLE m ALTER amount TYPE DOUBLE")
    evidence = ("sum(amount) AS total, max(amount) AS top1, "
                "coalesce(list_sort(list(amount), 'DESC')[2], 0) AS top2, " if magnitude else "")
    con.execute(f"""CREATE TABLE t AS
        SELECT r.{index} AS {index}, c.{columns} AS {columns}, {evidence} count(m.{index}) AS n
        FROM (SELECT DISTINCT {index} FROM m) r CROSS JOIN (SELECT DISTINCT {columns} FROM m) c
        LEFT JOIN m ON m.{index} = r.{index} AND m.{columns} = c.{columns}
        GROUP BY ALL ORDER BY ALL""")
    published = f"{index}, {columns}, n" + (", total" if magnitude else "")
    con.execute(f"COPY (SELECT {published} FROM t) TO '{out}' (HEADER, DELIMITER ',')")
    if magnitude:  # the largest contributions: evidence for the checks, beside the table, never released
        con.execute(f"COPY (SELECT {index}, {columns}, top1, top2 FROM t) TO '{out}.sdc.csv' (HEADER, DELIMITER ',')")
    declared = {"dimensions": [index, columns], "count": "n", **({"total": "total"} if magnitude else {})}
    return out, declared


def flagged_by_us(report, magnitude: bool) -> dict[tuple, set[str]]:
    flags: dict[tuple, set[str]] = {}
    for f in report.findings:
        if f.outcome != "blocked" or not f.cell:
            continue
        rule = {"min_count": "threshold", "zeros": "threshold", "dominance": "dominance"}.get(f.rule)
        if rule:
            key = tuple(part.split("=", 1)[1] for part in f.cell.split(", "))
            flags.setdefault(key, set()).add(rule)
    return flags


def flagged_by_acro(result: dict) -> dict[tuple, set[str]]:
    names = {"MinimumThresholdCheck": "threshold", "PresenceOfZeroCheck": "threshold", "NKCheck": "dominance",
             "PPercentCheck": "dominance"}
    flags: dict[tuple, set[str]] = {}
    for check, cells in result["cells"].items():
        for row, col in cells:
            key = (result["index"][row], result["columns"][col])
            if check in names:
                flags.setdefault(key, set()).add(names[check])
            else:
                flags.setdefault(key, set())
    return flags


def main() -> None:
    python = acro_python()
    with tempfile.TemporaryDirectory() as tmp:
        micro = Path(tmp) / "micro.csv"
        total = microdata(delivery(OUT, 100_000, 1), micro)
        specs = [{"rows": r, "index": i, "columns": c, "magnitude": m} for r, i, c, m in (*TABLES, SPEED)]
        acro = json.loads(subprocess.run([str(python), str(Path(__file__).parent / "acro_side.py"), str(micro),
                                          json.dumps(specs)], check=True, capture_output=True, text=True).stdout)
        print(f"microdata: {total:,} acts of 2023 from the synthetic delivery; ACRO defaults (threshold 10, "
              "p 0.10, n 2, k 0.90, zeros disclosive)")
        agree = cells = 0
        for spec, result in zip(TABLES, acro, strict=False):
            path, declared = our_table(micro, spec, Path(tmp) / "t.csv")
            report = check_file(path, params=Parameters(max_rows=10**6), declared=declared)
            ours, theirs = flagged_by_us(report, spec[3]), flagged_by_acro(result)
            grid = [(r, c) for r in result["index"] for c in result["columns"]]
            same = sum(1 for key in grid if ours.get(key, set()) == theirs.get(key, set()) & {"threshold", "dominance"})
            agree, cells = agree + same, cells + len(grid)
            differ = [(k, sorted(ours.get(k, set())), sorted(theirs.get(k, set()))) for k in grid
                      if ours.get(k, set()) != theirs.get(k, set()) & {"threshold", "dominance"}]
            flagged = {rule: sum(1 for k in grid if rule in theirs.get(k, set())) for rule in ("threshold", "dominance")}
            print(f"  {spec[1]} x {spec[2]}{' (sum of amounts)' if spec[3] else ''}, {spec[0]:,} acts: "
                  f"{len(grid)} cells (ACRO flags {flagged['threshold']} under the threshold, {flagged['dominance']} "
                  f"dominated), {same} agree" + (f"; differ: {differ[:5]}" if differ else ""))
        print(f"agreement: {agree}/{cells} cells = {agree / cells:.2%} (target >= 99 %)")

        path, declared = our_table(micro, SPEED, Path(tmp) / "speed.csv")
        rows = sum(1 for _ in open(path)) - 1
        ours = min(_timed(lambda: check_file(path, params=Parameters(max_rows=10**6), declared=declared))
                   for _ in range(5))
        theirs = acro[-1]["seconds"]
        print(f"speed, a {rows:,}-cell frequency table: ours {ours * 1000:.0f} ms (read and check the file), "
              f"ACRO {theirs * 1000:.0f} ms (crosstab and checks) -> {theirs / ours:.1f}x faster "
              "(targets < 100 ms and >= 10x)")


def _timed(fn) -> float:
    began = time.perf_counter()
    fn()
    return time.perf_counter() - began


if __name__ == "__main__":
    main()

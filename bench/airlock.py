"""Disclosure checks: cell-level agreement with ACRO 1.0.2 on the rules both implement, and speed.

    .venv/bin/python bench/airlock.py     # installs ACRO in bench/out/acro-venv the first time

Both sides do the same work, from microdata in memory to a verdict per cell, with ACRO's default
parameters (threshold 10, p 0.10, (n, k) = (2, 0.90), zeros disclosive):
- ACRO: `ACRO.crosstab` or `ACRO.pivot_table` (its own virtual environment; it pins an older pandas);
- ours: `workspace.release_table` (the helper researchers call in a workspace: the table with its
  empty cells, the evidence beside it) then `airlock.check.check_file` (read both files, every rule).
Two sets of tables:
- SNDS: acts of the cached synthetic delivery (ER_PRS_F 2023): sex, age band, specialty, nature of
  the act, département, amount paid; frequency and sum tables;
- ACRO-shaped: microdata generated here like ACRO's own test data (charities by year, grant type,
  survival and status, with grants and donations): frequency, sum and mean crosstabs and pivot
  tables, with negative values, missing values, all-zero cells, empty combinations;
- ACRO's synthetic test data, rebuilt from the description in ACRO's test_tables_syntheticdata.py
  (four A/B/C variables, small and zero-sum cells, one extreme value), with its subsets.
Rules compared per cell: threshold (ACRO MinimumThreshold + PresenceOfZero; ours min_count + zeros)
and dominance (ACRO NK + PPercent; ours dominance). When a table holds a negative value ACRO judges
no cell's dominance except to send the negative ones to review; the other cells of such tables are
counted apart ("ACRO does not judge"), with what we found there. Rules only we run are counted too.
Speed: the same two tables from 200,000 acts, five rounds interleaved (ACRO, ours), median of each.
"""

from __future__ import annotations

import csv
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from bastide.airlock.check import check_file
from bastide.airlock.rules import Parameters
from bastide.workspace import release_table

sys.path.insert(0, str(Path(__file__).parent))
from ingest import delivery  # noqa: E402 - the same cached synthetic delivery

OUT = Path(__file__).parent / "out"
ACRO_VENV = OUT / "acro-venv"
PARAMS = Parameters(max_rows=10**6)
ACRO_RULES = {"threshold": {"MinimumThresholdCheck", "PresenceOfZeroCheck"}, "dominance": {"NKCheck", "PPercentCheck"}}
OUR_RULES = {"threshold": {"min_count", "zeros"}, "dominance": {"dominance"}}


def spec(micro: str, rows: int, index: list[str], columns: list[str], values: str | None = None,
         aggfunc: str | None = None, method: str = "crosstab") -> dict:
    return {"microdata": micro, "rows": rows, "index": index, "columns": columns, "values": values,
            "aggfunc": aggfunc, "method": method}


def snds_tables(micro: str) -> list[dict]:
    return [spec(micro, 2_000, ["sex"], ["age_band"]), spec(micro, 3_000, ["specialty"], ["age_band"]),
            spec(micro, 2_000, ["department"], ["sex"]), spec(micro, 5_000, ["nature"], ["sex"]),
            spec(micro, 3_000, ["specialty"], ["sex"], "amount", "sum"),
            spec(micro, 6_000, ["nature"], ["age_band"], "amount", "sum"),
            spec(micro, 4_000, ["department"], ["age_band"], "amount", "sum"),
            spec(micro, 4_000, ["specialty"], ["age_band"], "amount", "mean")]


def acro_shaped_tables(micro: str) -> list[dict]:
    every = 10**6
    return [spec(micro, every, ["year"], ["grant_type"]),
            spec(micro, every, ["year", "survivor"], ["grant_type"]),
            spec(micro, every, ["status"], ["survivor"]),
            spec(micro, every, ["year"], ["grant_type"], "inc_grants", "mean"),
            spec(micro, every, ["year"], ["grant_type"], "inc_grants", "sum"),
            spec(micro, every, ["year", "survivor"], ["grant_type"], "inc_grants", "sum"),
            spec(micro, every, ["grant_type"], ["status"], "inc_grants", "mean", "pivot_table"),
            spec(micro, every, ["status"], ["year"], "inc_donations", "sum", "pivot_table"),
            spec(micro, every, ["status"], ["grant_type"], "inc_donations", "mean"),
            spec(micro, every, ["survivor"], ["year"], "inc_donations", "mean", "pivot_table")]


LEVELS = ("A", "B", "C")


def acro_synthetic(folder: Path) -> dict[str, Path]:
    """The synthetic data of ACRO's `test_tables_syntheticdata.py`, as its docstrings describe it:
    four variables of three levels, 11 records per combination (5 where variables 1, 3 and 4 are
    all C), the dependent variable the record's number (0-10); and the subsets its tests use: the
    2-D and 3-D "unsafe" slices, a cell whose values sum to zero, one extreme value (10000)."""
    rows = [(a, b, c, d, r) for a in LEVELS for b in LEVELS for c in LEVELS for d in LEVELS
            for r in range(5 if a == c == d == "C" else 11)]
    frame = pd.DataFrame(rows, columns=["indvar1", "indvar2", "indvar3", "indvar4", "depvar"])
    unsafe_3d = frame[frame.indvar4 == "C"]
    unsafe_2d = unsafe_3d[unsafe_3d.indvar3 == "C"]
    holes = unsafe_2d[unsafe_2d.indvar1 != "C"].copy()
    holes.loc[(holes.indvar1 == "A") & (holes.indvar2 == "A"), "depvar"] = 0
    dominance = frame.copy()
    dominance.loc[dominance[(dominance[["indvar1", "indvar2", "indvar3", "indvar4"]] == "C").all(axis=1)].index[-1],
                  "depvar"] = 10000
    paths = {}
    for name, data in {"all": frame, "unsafe_3d": unsafe_3d, "unsafe_2d": unsafe_2d, "holes": holes,
                       "dominance": dominance}.items():
        paths[name] = folder / f"acro_{name}.csv"
        data.to_csv(paths[name], index=False)
    return paths


def acro_synthetic_tables(paths: dict[str, Path]) -> list[dict]:
    every, v = 10**6, "depvar"
    return [spec(str(paths["all"]), every, ["indvar1"], ["indvar2"]),
            spec(str(paths["unsafe_2d"]), every, ["indvar1"], ["indvar2"]),
            spec(str(paths["unsafe_3d"]), every, ["indvar1", "indvar2"], ["indvar3"]),
            spec(str(paths["all"]), every, ["indvar1", "indvar2", "indvar3"], ["indvar4"], v, "sum"),
            spec(str(paths["unsafe_2d"]), every, ["indvar1"], ["indvar2"], v, "mean"),
            spec(str(paths["holes"]), every, ["indvar1"], ["indvar2"], v, "sum"),
            spec(str(paths["holes"]), every, ["indvar1"], ["indvar2"], v, "mean", "pivot_table"),
            spec(str(paths["dominance"]), every, ["indvar1", "indvar2"], ["indvar3"], v, "sum"),
            spec(str(paths["dominance"]), every, ["indvar1"], ["indvar2"], v, "mean", "pivot_table"),
            spec(str(paths["unsafe_3d"]), every, ["indvar1"], ["indvar2"], v, "sum", "pivot_table")]


def charities(path: Path, seed: int = 7, count: int = 900) -> None:
    """Microdata shaped like ACRO's test data (a charity a year, 2010-2015). Grant type N never has
    grants (all-zero cells); type R has refunds (negative values); 5 % of grants are unknown (missing);
    dissolved G charities only appear from 2013 (empty combinations); dormant ones have no donations
    (all values the same); one charity's grants dwarf all others (dominance)."""
    rng = np.random.default_rng(seed)
    with path.open("w", newline="") as out:
        write = csv.writer(out).writerow
        write(["charity", "year", "grant_type", "survivor", "status", "inc_grants", "inc_donations"])
        for charity in range(count):
            kind = str(rng.choice(["G", "N", "R", "R/G"], p=[0.35, 0.2, 0.3, 0.15]))
            survivor = "Alive" if rng.random() < 0.8 else "Dead"
            for year in range(2010, 2016):
                status = "active" if rng.random() < 0.9 else "dormant" if rng.random() < 0.8 else "dissolved"
                if status == "dissolved" and kind == "G" and year < 2013:
                    status = "dormant"
                grants = 0.0 if kind == "N" else round(float(rng.lognormal(9, 1.2)), 2)
                if kind == "R" and rng.random() < 0.02:
                    grants = -round(float(rng.lognormal(6, 1)), 2)
                if charity == 17:
                    grants = 5e7
                donations = 0.0 if status == "dormant" else round(float(rng.lognormal(7, 1)), 2)
                write([charity, year, kind, survivor, status, "" if rng.random() < 0.05 else grants, donations])


def snds_microdata(folder: Path, out: Path) -> int:
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


def acro_python() -> Path:
    python = ACRO_VENV / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(ACRO_VENV)], check=True)
        subprocess.run([str(ACRO_VENV / "bin" / "pip"), "install", "-q", "acro==1.0.2"], check=True)
    return python


def run_acro(python: Path, specs: list[dict], folder: Path) -> list[dict]:
    file = folder / "specs.json"
    file.write_text(json.dumps(specs))
    done = subprocess.run([str(python), str(Path(__file__).parent / "acro_side.py"), str(file)], check=True,
                          capture_output=True, text=True)
    return json.loads(done.stdout)


def microdata_frame(s: dict, cache: dict) -> pd.DataFrame:
    """The rows both sides start from, read the same way (every column as text, values as numbers)."""
    if s["microdata"] not in cache:
        cache[s["microdata"]] = pd.read_csv(s["microdata"], dtype=str, keep_default_na=False)
    data = cache[s["microdata"]].head(s["rows"]).copy()
    if s["values"]:
        data[s["values"]] = pd.to_numeric(data[s["values"]].replace("", None))
    return data


def ours(data: pd.DataFrame, s: dict, folder: Path):
    path = release_table(data, s["index"] + s["columns"], name=str(folder / "t.csv"), value=s["values"],
                         statistic=s["aggfunc"] or "sum")
    report = check_file(path, params=PARAMS)
    unread = [f.message for f in report.findings if f.rule in ("readable", "gate")]
    if unread:  # a verdict on the whole file would count as agreeing on every cell ACRO passes
        raise SystemExit(f"our side could not check its table: {unread}")
    return report


def our_flags(report, dims: list[str]) -> dict[tuple, set[str]]:
    flags: dict[tuple, set[str]] = {}
    for f in report.findings:
        if f.cell and f.outcome in ("blocked", "review"):
            values = dict(part.split("=", 1) for part in f.cell.split(", "))
            flags.setdefault(tuple(values[d] for d in dims), set()).add(f.rule)
    return flags


def compare(s: dict, theirs: dict, report) -> dict:
    """Per rule: cells judged alike, cells judged differently, cells only one side judges."""
    dims = s["index"] + s["columns"]
    mine = our_flags(report, dims)
    acro = {}
    for check, cells in theirs["cells"].items():
        for cell in cells:
            acro.setdefault(tuple(cell), set()).add(check)
    grid = [tuple(c) for c in theirs["grid"]]
    result = {"cells": len(grid), "agree": Counter(), "judged": Counter(), "differ": [], "apart": Counter(),
              "ours_only": Counter(r for rules in mine.values() for r in rules
                                   if r not in OUR_RULES["threshold"] | OUR_RULES["dominance"])}
    for rule in ("threshold", "dominance"):
        for key in grid:
            a = bool(acro.get(key, set()) & ACRO_RULES[rule])
            o = bool(mine.get(key, set()) & OUR_RULES[rule])
            if rule == "dominance" and theirs["negatives"] and not a:
                if o:
                    result["apart"][rule] += 1  # ACRO leaves it unjudged; we flag it
                continue
            result["judged"][rule] += 1
            if a == o:
                result["agree"][rule] += 1
            else:
                result["differ"].append((rule, key, "ACRO" if a else "ours"))
    return result


def agreement(title: str, specs: list[dict], acro: list[dict], folder: Path, cache: dict) -> None:
    print(f"\n{title}")
    totals = {"agree": Counter(), "judged": Counter(), "apart": Counter(), "ours_only": Counter()}
    for s, theirs in zip(specs, acro, strict=True):
        data = microdata_frame(s, cache)
        theirs["negatives"] = bool(s["values"]) and bool((data[s["values"]] < 0).any())
        r = compare(s, theirs, ours(data, s, folder))
        for k, counter in totals.items():
            counter.update(r[k])
        name = f"{s['method']} {'+'.join(s['index'])} x {'+'.join(s['columns'])}"
        what = f"{s['aggfunc']} of {s['values']}" if s["values"] else "counts"
        print(f"  {name}, {what}: {r['cells']} cells; threshold {r['agree']['threshold']}/{r['judged']['threshold']}, "
              f"dominance {r['agree']['dominance']}/{r['judged']['dominance']} agree"
              + (f"; ACRO does not judge dominance (a negative value), we flag {r['apart']['dominance']}"
                 if theirs["negatives"] else "")
              + (f"; differ: {r['differ'][:4]}" if r["differ"] else ""))
    for rule in ("threshold", "dominance"):
        judged, agree = totals["judged"][rule], totals["agree"][rule]
        print(f"  {rule}: {agree}/{judged} cells = {agree / judged:.2%} (target >= 99 %)")
    print(f"  cells ACRO leaves unjudged that we flag for dominance: {totals['apart']['dominance']}; "
          f"findings of rules ACRO does not run by default: {dict(totals['ours_only'])}")


def speed(python: Path, micro: str, folder: Path, cache: dict) -> None:
    specs = [spec(micro, 200_000, ["department"], ["specialty"]),
             spec(micro, 200_000, ["department"], ["nature"], "amount", "sum")]
    timings: dict[int, dict[str, list[float]]] = {i: {"acro": [], "ours": []} for i in range(len(specs))}
    for _ in range(5):  # interleaved: one ACRO round, then ours, both from microdata in memory
        for i, theirs in enumerate(run_acro(python, specs, folder)):
            timings[i]["acro"] += theirs["seconds"]
        for i, s in enumerate(specs):
            data = microdata_frame(s, cache)
            began = time.perf_counter()
            ours(data, s, folder)
            timings[i]["ours"].append(time.perf_counter() - began)
    print("\nspeed, 200,000 acts, microdata in memory to a verdict per cell (median of 5 interleaved rounds):")
    for i, s in enumerate(specs):
        a, o = statistics.median(timings[i]["acro"]), statistics.median(timings[i]["ours"])
        what = "sum of amounts" if s["values"] else "counts"
        print(f"  {s['index'][0]} x {s['columns'][0]}, {what}: ACRO {a * 1000:.0f} ms, ours {o * 1000:.0f} ms "
              f"(release_table + check_file) -> ours takes {o / a:.2f}x ACRO's time")


def main() -> None:
    python = acro_python()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        snds, shaped = folder / "snds.csv", folder / "charities.csv"
        total = snds_microdata(delivery(OUT, 100_000, 1), snds)
        charities(shaped)
        print(f"microdata: {total:,} acts of 2023 from the synthetic delivery; {len(shaped.read_text().splitlines()) - 1:,} "
              "charity-years shaped like ACRO's test data; ACRO 1.0.2 defaults on both sides")
        cache: dict = {}
        sets = [("SNDS tables", snds_tables(str(snds))), ("ACRO-shaped tables", acro_shaped_tables(str(shaped))),
                ("ACRO's synthetic test data", acro_synthetic_tables(acro_synthetic(folder)))]
        results = run_acro(python, [s for _, specs in sets for s in specs], folder)
        for title, specs in sets:
            agreement(title, specs, results[:len(specs)], folder, cache)
            results = results[len(specs):]
        speed(python, str(snds), folder, cache)


if __name__ == "__main__":
    main()

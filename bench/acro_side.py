"""Run inside ACRO's own virtual environment (it pins an older pandas): build each table of the
benchmark with ACRO from microdata and print, per table, the cells each ACRO check flags (by
their labels) and the seconds ACRO took, from microdata in memory to its verdict. Called by
bench/airlock.py, which builds the same tables with the platform's tools.

    python acro_side.py SPECS.json   # [{"microdata": path, "rows": n, "index": [...], "columns": [...],
                                     #   "values": column or null, "aggfunc": "sum"|"mean"|null,
                                     #   "method": "crosstab"|"pivot_table", "repeat": k}, ...]
"""

import json
import logging
import sys
import time

import pandas as pd
from acro import ACRO

logging.disable(logging.CRITICAL)  # ACRO narrates every check


def build(acro: ACRO, data: pd.DataFrame, spec: dict) -> pd.DataFrame:
    index, columns = [data[c] for c in spec["index"]], [data[c] for c in spec["columns"]]
    values = data[spec["values"]] if spec["values"] else None
    if spec["method"] == "pivot_table":
        return acro.pivot_table(data, values=spec["values"], index=spec["index"], columns=spec["columns"],
                                aggfunc=spec["aggfunc"])
    return acro.crosstab(index if len(index) > 1 else index[0], columns if len(columns) > 1 else columns[0],
                         values=values, aggfunc=spec["aggfunc"])


def grid(data: pd.DataFrame, spec: dict) -> tuple[list, list]:
    """The labels of ACRO's masks: its count table, a crosstab that keeps empty combinations."""
    counts = pd.crosstab([data[c] for c in spec["index"]], [data[c] for c in spec["columns"]], dropna=False)
    rows = [tuple(str(v) for v in (r if isinstance(r, tuple) else (r,))) for r in counts.index]
    cols = [str(c[-1] if isinstance(c, tuple) else c) for c in counts.columns]
    return rows, cols


def main() -> None:
    with open(sys.argv[1]) as file:
        specs = json.load(file)
    frames: dict[str, pd.DataFrame] = {}
    out = []
    for spec in specs:
        if spec["microdata"] not in frames:
            frames[spec["microdata"]] = pd.read_csv(spec["microdata"], dtype=str, keep_default_na=False)
        data = frames[spec["microdata"]].head(spec["rows"]).copy()
        if spec["values"]:
            data[spec["values"]] = pd.to_numeric(data[spec["values"]].replace("", None))
        seconds = []
        for _ in range(spec.get("repeat", 1)):
            acro = ACRO(suppress=False)
            began = time.perf_counter()
            build(acro, data, spec)
            seconds.append(time.perf_counter() - began)
        record = acro.results.get_index(0)
        rows, cols = grid(data, spec)
        cells = {check: [[*rows[r], cols[c]] for r, c in positions]
                 for check, positions in record.sdc["cells"].items()}
        out.append({"cells": cells, "grid": [[*r, c] for r in rows for c in cols], "seconds": seconds,
                    "status": record.status})
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()

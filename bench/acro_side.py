"""Run inside ACRO's own virtual environment (it pins an older pandas): build each table of the
benchmark with ACRO from the same microdata and print, per table, its row and column labels,
the cells each ACRO check flags, and the time ACRO took. Called by bench/airlock.py."""

import json
import logging
import sys
import time

import pandas as pd
from acro import ACRO

logging.disable(logging.CRITICAL)  # ACRO narrates every check


def main() -> None:
    microdata, specs = sys.argv[1], json.loads(sys.argv[2])
    df = pd.read_csv(microdata, dtype=str)
    df["amount"] = df["amount"].astype(float)
    acro = ACRO(suppress=False)
    out = []
    for i, spec in enumerate(specs):
        data = df.head(spec["rows"])
        values = data["amount"] if spec["magnitude"] else None
        began = time.perf_counter()
        table = acro.crosstab(data[spec["index"]], data[spec["columns"]], values=values,
                              aggfunc="sum" if spec["magnitude"] else None)
        seconds = time.perf_counter() - began
        record = acro.results.get_index(i)
        out.append({"index": [str(v) for v in table.index], "columns": [str(v) for v in table.columns],
                    "cells": record.sdc["cells"], "seconds": seconds})
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()

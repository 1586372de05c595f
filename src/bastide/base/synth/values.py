"""Vectorised helpers: identifiers, dates and their SNDS text formats."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

ALPHABET = np.frombuffer(b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ", dtype=np.uint8)


def unique_ids(rng: np.random.Generator, count: int, width: int, *, start: int = 0) -> pa.Array:
    """`width`-character ids: a random head and a base-36 serial tail, so no two collide."""
    tail = 7
    serial = np.arange(start, start + count, dtype=np.int64)
    powers = 36 ** np.arange(tail - 1, -1, -1, dtype=np.int64)
    digits = (serial[:, None] // powers) % 36
    head = rng.integers(0, 36, size=(count, width - tail))
    chars = ALPHABET[np.concatenate([head, digits], axis=1)].astype(np.uint8)
    return pa.array(chars.view(f"S{width}").ravel()).cast(pa.string())


def digits_ids(rng: np.random.Generator, count: int, width: int) -> pa.Array:
    low, high = 10 ** (width - 1), 10**width
    return pa.array(rng.integers(low, high, size=count).astype(str))


def days(values: np.ndarray) -> pa.Array:
    """numpy datetime64[D] -> Arrow dates (written as ISO YYYY-MM-DD)."""
    return pa.array(values.astype("datetime64[D]"), type=pa.date32(), from_pandas=True)


def formatted(values: np.ndarray, fmt: str) -> pa.Array:
    """Dates in an SNDS text format (`%d%m%Y`, `%m`, `%d%b%Y:%H:%M:%S` upper-cased)."""
    stamps = pa.array(values.astype("datetime64[s]"), type=pa.timestamp("s"), from_pandas=True)
    return pc.utf8_upper(pc.strftime(stamps, format=fmt))


def month_start(values: np.ndarray) -> np.ndarray:
    return values.astype("datetime64[M]").astype("datetime64[D]")


def year_of(values: np.ndarray) -> np.ndarray:
    return values.astype("datetime64[Y]").astype(np.int64) + 1970


def yearmonth(values: np.ndarray) -> pa.Array:
    """SNDS `YYYYMM`; NaT gives null."""
    months = values.astype("datetime64[M]").astype(np.int64)
    return pa.array(((months // 12 + 1970) * 100 + months % 12 + 1).astype(str), mask=np.isnat(values))


def pick(rng: np.random.Generator, choices: np.ndarray, count: int) -> np.ndarray:
    return choices[rng.integers(0, len(choices), size=count)]


def expand(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Row i repeated counts[i] times: (index of the source row, 1-based line number within it)."""
    index = np.repeat(np.arange(len(counts)), counts)
    return index, np.arange(len(index)) - np.repeat(np.cumsum(counts) - counts, counts) + 1


def rank_within(groups: np.ndarray) -> np.ndarray:
    """Each row's 0-based position among the rows of its group, in row order (an establishment
    numbers its year's stays, or visits, 1, 2, 3…)."""
    order = np.argsort(groups, kind="stable")
    ranked = groups[order]
    starts = np.r_[0, np.flatnonzero(ranked[1:] != ranked[:-1]) + 1]
    out = np.empty(len(groups), dtype=np.int64)
    out[order] = np.arange(len(groups)) - np.repeat(starts, np.diff(np.r_[starts, len(groups)]))
    return out


def append_rows(columns: dict, rows: np.ndarray, replaced: dict) -> None:
    """Copies of `rows` with some columns replaced, added at the end of every column. Columns are
    chunked: a text column of a large delivery passes 2 GiB, which one Arrow array cannot hold."""
    taken = pa.array(rows)
    for name, values in columns.items():
        added = replaced.get(name, values.take(taken))
        columns[name] = pa.chunked_array([*chunks_of(values), *chunks_of(added)], type=values.type)


def chunks_of(values) -> list[pa.Array]:
    return values.chunks if isinstance(values, pa.ChunkedArray) else [values]

"""The release ledger (SPE-08): every released table's dimensions and counts are kept, so that a
new table that differs from a released one by a few persons is caught — subtracting one from
the other would isolate them (differencing). Within a project and across the projects of the
same permit holder, who could combine their releases.

Tables are compared on their margins: the grand total, the margin of each dimension they share
and, when they share every dimension, cell by cell. A margin over a suppressed cell is unknown
and not compared. Dimensions are matched by their values, not their names (issue 14 "Why" 4:
counts by sex were released; the same minus one person, `sex` renamed `gender` and a padding row
added, passed): two columns are the same dimension when most of their values are, written alike
(case, spaces and leading zeros aside); rows of categories only one table has are left out of
the margins compared, so padding hides nothing."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from bastide.airlock.rules import BLOCKED, Finding, Parameters
from bastide.airlock.said import Said
from bastide.airlock.tables import OutputTable


@dataclass(frozen=True)
class Released:
    release: str  # its reference, REL-…
    file: str
    dimensions: tuple[str, ...]
    cells: tuple[tuple[tuple[str, ...], int | None], ...]  # (dimension values, count or None if suppressed)


def entry(table: OutputTable) -> dict | None:
    """What the ledger keeps of a released table (None for what has no counts)."""
    if table.structure.count is None and table.structure.layout != "wide":
        return None
    return {"dimensions": list(table.structure.cell_dimensions),
            "cells": [[list(c.key), c.count] for c in table.cells]}


def _margins(dimensions: tuple[str, ...], cells, by: tuple[str, ...]) -> dict[tuple, int | None]:
    """Sums of counts grouped by the `by` dimensions; None where a suppressed cell hides the sum."""
    index = [dimensions.index(d) for d in by]
    sums: dict[tuple, int | None] = {}
    for key, count in cells:
        group = tuple(key[i] for i in index)
        if group in sums and sums[group] is None:
            continue
        sums[group] = None if count is None else sums.get(group, 0) + count
    return sums


def _normal(value) -> str:
    text = str(value).strip().lower()
    return (text.lstrip("0") or "0") if text.isdigit() else text


def _values(dimensions: tuple[str, ...], cells) -> dict[str, set[str]]:
    return {d: {_normal(key[i]) for key, _count in cells} for i, d in enumerate(dimensions)}


def _matched(mine: dict[str, set[str]], theirs: dict[str, set[str]]) -> dict[str, str]:
    """Each of my dimensions to the released table's dimension holding most of the same values
    (at least half of the two sets together), each used once; unmatched ones are left out."""
    pairs = sorted(((len(a & b) / len(a | b), d, e) for d, a in mine.items() for e, b in theirs.items() if a | b),
                   reverse=True)
    chosen: dict[str, str] = {}
    for overlap, d, e in pairs:
        if overlap >= 0.5 and d not in chosen and e not in chosen.values():
            chosen[d] = e
    return chosen


def differencing(table: OutputTable, released: list[Released], p: Parameters) -> Iterator[Finding]:
    dims = table.structure.cell_dimensions
    mine = [(tuple(_normal(v) for v in c.key), None if c.suppressed else c.count) for c in table.cells
            if c.count is not None or c.suppressed]
    if not mine:
        return
    for other in released:
        theirs = [(tuple(_normal(v) for v in key), count) for key, count in other.cells]
        matched = _matched(_values(dims, mine), _values(other.dimensions, theirs))
        named = tuple(matched.get(d, f"(unmatched {d})") for d in dims)  # my dimensions under their names
        shared = tuple(matched[d] for d in dims if d in matched)
        views = [(), *((d,) for d in shared)]
        if len(shared) == len(dims) == len(other.dimensions) > 1:
            views.append(shared)
        gap = _first_small_gap(named, mine, other.dimensions, theirs, views, p.threshold)
        if gap is not None:
            where, size = gap
            yield Finding("differencing", BLOCKED,
                          Said("differencing", other=other.file, release=other.release, where=where, size=size,
                               threshold=p.threshold),
                          table.name, {"threshold": p.threshold, "released": other.release, "file": other.file},
                          value=size)


def _first_small_gap(dims, mine, other_dims, theirs, views, threshold: int) -> tuple[str, int] | None:
    for by in views:
        ours, released = _margins(dims, mine, by), _margins(other_dims, theirs, by)
        if not by:  # the totals over the categories both tables have: padding rows are not counted
            ours, released = _common_total(dims, mine, other_dims, theirs)
        for group in sorted(ours.keys() & released.keys()):
            a, b = ours[group], released[group]
            if a is not None and b is not None and 0 < abs(a - b) < threshold:
                label = ", ".join(f"{d}={v}" for d, v in zip(by, group, strict=True))
                return (f"the {'cell' if len(by) == len(dims) and by else 'margin'} ({label})" if by
                        else "the total", abs(a - b))
    return None


def _common_total(dims, mine, other_dims, theirs) -> tuple[dict, dict]:
    """The two grand totals over the rows whose categories the other table also has, matched
    dimension by dimension (a row of a category only one table has is padding, left out)."""
    shared = [d for d in dims if d in other_dims]
    known = {d: {key[other_dims.index(d)] for key, _ in theirs} for d in shared}
    mine_known = {d: {key[dims.index(d)] for key, _ in mine} for d in shared}

    def total(cells, names, allowed) -> int | None:
        kept = [count for key, count in cells if all(key[names.index(d)] in allowed[d] for d in shared)]
        return None if any(c is None for c in kept) else sum(kept)

    return {(): total(mine, dims, known)}, {(): total(theirs, other_dims, mine_known)}

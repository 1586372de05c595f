"""The release ledger (SPE-08): every released table's dimensions and counts are kept, so that a
new table that differs from a released one by a few persons is caught — subtracting one from
the other would isolate them (differencing). Within a project and across the projects of the
same permit holder, who could combine their releases.

Tables are compared on their margins: the grand total, the margin of each dimension they share
and, when they share every dimension, cell by cell. A margin over a suppressed cell is unknown
and not compared."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from bastide.airlock.rules import BLOCKED, Finding, Parameters
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


def differencing(table: OutputTable, released: list[Released], p: Parameters) -> Iterator[Finding]:
    dims = table.structure.cell_dimensions
    mine = [(c.key, None if c.suppressed else c.count) for c in table.cells if c.count is not None or c.suppressed]
    if not mine:
        return
    for other in released:
        shared = tuple(d for d in dims if d in other.dimensions)
        views = [(), *((d,) for d in shared)]
        if len(shared) == len(dims) == len(other.dimensions) > 1:
            views.append(shared)
        gap = _first_small_gap(dims, mine, other, views, p.threshold)
        if gap is not None:
            where, size = gap
            yield Finding("differencing", BLOCKED,
                          f"compared with {other.file} of {other.release}, {where} differs by {size} "
                          f"(fewer than {p.threshold}): subtracting one table from the other isolates them",
                          table.name, {"threshold": p.threshold, "released": other.release, "file": other.file},
                          value=size)


def _first_small_gap(dims, mine, other: Released, views, threshold: int) -> tuple[str, int] | None:
    for by in views:
        ours, theirs = _margins(dims, mine, by), _margins(other.dimensions, other.cells, by)
        for group in sorted(ours.keys() & theirs.keys()):
            a, b = ours[group], theirs[group]
            if a is not None and b is not None and 0 < abs(a - b) < threshold:
                label = ", ".join(f"{d}={v}" for d, v in zip(by, group, strict=True))
                return (f"the {'cell' if len(by) == len(dims) and by else 'margin'} ({label})" if by
                        else "the total", abs(a - b))
    return None

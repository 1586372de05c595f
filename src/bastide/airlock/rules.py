"""Disclosure-control rules (SPE-08): small functions, each testable alone, each turning an
output into findings that name the rule, its parameters and the cell concerned.

Defaults are ACRO's (../shared/research/tre.md §3.2, §8): threshold 10, p-ratio 0.10, (n, k)
= (2, 0.90), residual degrees of freedom ≥ 10, zeros disclosive. A dataset may ask for more
(PMSI profiles use 11): the parameters travel with every finding and every release."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from typing import Any


from bastide.airlock import identifiers as ids
from bastide.airlock.said import Said
from bastide.airlock.tables import COUNT_NAMES, EVIDENCE, TOP, Cell, OutputTable

BLOCKED, REVIEW, SUGGESTION, INFO = "blocked", "review", "suggestion", "info"


@dataclass(frozen=True)
class Parameters:
    threshold: int = 10  # minimum persons in a cell
    p_ratio: float = 0.10  # p% rule: the others must hide the largest by at least p of it
    nk_n: int = 2  # (n, k) rule: the n largest may not make k of the total
    nk_k: float = 0.90
    min_dof: int = 10  # residual degrees of freedom of a model
    zeros_disclosive: bool = True
    max_bytes: int = 16 * 1024 * 1024
    max_rows: int = 5000

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Finding:
    rule: str
    outcome: str  # blocked | review | suggestion | info
    message: str
    file: str
    parameters: dict[str, Any]
    row: int | None = None  # the data row (1 = first row after the header)
    column: str | None = None
    cell: str | None = None  # the cell's dimension values
    value: Any = None

    def to_dict(self) -> dict:
        """As kept in reports: with the message's code and values when it has them (`Said`)."""
        out = {k: v for k, v in asdict(self).items() if v is not None}
        out["message"] = str(self.message)
        if isinstance(self.message, Said):
            out.update(said=self.message.code, values=self.message.values)
        return out


Rule = Callable[[OutputTable, Parameters], Iterator[Finding]]


def _finding(rule: str, outcome: str, message: str, table: OutputTable, params: dict, cell: Cell | None = None,
             value: Any = None) -> Finding:
    if cell is None:
        return Finding(rule, outcome, message, table.name, params)
    return Finding(rule, outcome, message, table.name, params, row=cell.row, column=cell.column,
                   cell=cell.label(table.structure.cell_dimensions), value=value)


def _primary(table: OutputTable, p: Parameters) -> set[int]:
    """The cells that may not be shown: under the threshold, or zero when zeros disclose."""
    zeros = set(table.structure.structural_zeros)
    return {i for i, c in enumerate(table.cells) if c.count is not None and
            (0 < c.count < p.threshold or c.count == 0 and p.zeros_disclosive and c.key not in zeros)}


def min_count(table: OutputTable, p: Parameters) -> Iterator[Finding]:
    params = {"threshold": p.threshold}
    if table.structure.count is None and table.structure.layout != "wide":
        yield _finding("min_count", REVIEW, Said("no_counts"), table, params)
        return
    for cell in table.cells:
        if cell.count is not None and 0 < cell.count < p.threshold:
            yield _finding("min_count", BLOCKED, Said("small_count", cell=cell.label(table.structure.cell_dimensions),
                                                      count=cell.count, threshold=p.threshold),
                           table, params, cell, cell.count)


def zeros(table: OutputTable, p: Parameters) -> Iterator[Finding]:
    structural = set(table.structure.structural_zeros)
    for cell in table.cells:
        if cell.count != 0:
            continue
        label = cell.label(table.structure.cell_dimensions)
        if cell.key in structural:
            yield _finding("zeros", INFO, Said("structural_zero", cell=label), table, {}, cell, 0)
        else:
            yield _finding("zeros", BLOCKED if p.zeros_disclosive else REVIEW, Said("zero", cell=label),
                           table, {"zeros_disclosive": p.zeros_disclosive}, cell, 0)


def missing(table: OutputTable, p: Parameters) -> Iterator[Finding]:
    """Cells without a value, and totals resting on fewer values than the threshold because some of
    the cell's rows had none (the evidence counts them; ACRO's MissingCheck, off by default there)."""
    s = table.structure
    for cell in table.cells:
        if cell.count and cell.missing and not cell.suppressed and cell.count - cell.missing < p.threshold:
            yield _finding("missing", REVIEW, Said("missing_values", cell=cell.label(s.cell_dimensions), count=cell.count,
                                                   missing=cell.missing, rest=max(cell.count - cell.missing, 0),
                                                   threshold=p.threshold),
                           table, {"threshold": p.threshold}, cell, cell.count - cell.missing)
        gaps = ([s.count] if s.count and cell.count is None and not cell.suppressed else []) + \
               ([s.total] if s.total and cell.total is None and not cell.suppressed else [])
        for column in gaps:
            yield _finding("missing", REVIEW, Said("missing_column", cell=cell.label(s.cell_dimensions), column=column),
                           table, {}, cell)


def secondary_suppression(table: OutputTable, p: Parameters) -> Iterator[Finding]:
    """A cell hidden alone in a row or column of the table is the margin minus the others. The
    cells already suppressed in the file must come at least two to a group (blocked otherwise);
    for cells still to suppress, the complement to suppress with them is suggested."""
    hidden = {i for i, c in enumerate(table.cells) if c.suppressed}
    params = {"threshold": p.threshold}
    groups = _groups(table)
    for group, alone in _lonely(table, groups, hidden):
        cell = table.cells[alone]
        yield _finding("secondary_suppression", BLOCKED,
                       Said("lone_suppressed", cell=cell.label(table.structure.cell_dimensions), group=group),
                       table, params, cell)
    primary = _primary(table, p)
    if primary:
        for extra in sorted(_complements(table, groups, hidden | primary) - hidden - primary):
            cell = table.cells[extra]
            yield _finding("secondary_suppression", SUGGESTION,
                           Said("suppress_too", cell=cell.label(table.structure.cell_dimensions)),
                           table, params, cell, cell.count)


def _groups(table: OutputTable) -> dict[tuple, list[int]]:
    """Cells sharing every dimension but one: the rows and columns whose margins can be known."""
    dims = len(table.structure.cell_dimensions)
    groups: dict[tuple, list[int]] = defaultdict(list)
    for i, cell in enumerate(table.cells):
        for free in range(dims):
            groups[(free, cell.key[:free] + cell.key[free + 1:])].append(i)
    if not dims:
        groups[(0, ())] = list(range(len(table.cells)))
    return {k: v for k, v in groups.items() if len(v) > 1}


def _describe(table: OutputTable, key: tuple) -> str:
    free, fixed = key
    dims = table.structure.cell_dimensions
    others = [d for j, d in enumerate(dims) if j != free]
    held = ", ".join(f"{d}={v}" for d, v in zip(others, fixed, strict=True))
    return f"all values of {dims[free]}" + (f" at {held}" if held else "") if dims else "the table"


def _lonely(table: OutputTable, groups: dict[tuple, list[int]], hidden: set[int]) -> Iterator[tuple[str, int]]:
    for key, members in groups.items():
        inside = [i for i in members if i in hidden]
        if len(inside) == 1:
            yield _describe(table, key), inside[0]


def _complements(table: OutputTable, groups: dict[tuple, list[int]], hidden: set[int]) -> set[int]:
    """Wherever a cell is hidden alone in a group, hide one more of that group: the one that
    leaves the fewest other groups with a lone hidden cell, then the smallest (so a 2 x n table
    gets a rectangle, not a cascade). Each pass hides one more cell, so it ends."""
    hidden = set(hidden)
    member_of: dict[int, list[tuple]] = defaultdict(list)
    for key, members in groups.items():
        for i in members:
            member_of[i].append(key)

    def cost(i: int, group: tuple) -> tuple:
        lonely = sum(1 for g in member_of[i] if g != group and not any(j in hidden for j in groups[g]))
        return lonely, table.cells[i].count is None, table.cells[i].count or 0, i

    changed = True
    while changed:
        changed = False
        for key, members in groups.items():
            visible = [i for i in members if i not in hidden]
            if len(members) - len(visible) == 1 and visible:
                hidden.add(min(visible, key=lambda i: cost(i, key)))  # noqa: B023 - used at once
                changed = True
    return hidden


def dominance(table: OutputTable, p: Parameters) -> Iterator[Finding]:
    """The p% and (n, k) rules on a magnitude table's cells, from their largest contributions.
    A cell shown without evidence, or with a negative contribution anywhere in it, goes to a
    person: dominance is undefined there, and nothing is passed unjudged (issue 14, ACRO 1.0.2)."""
    s = table.structure
    if s.kind != "magnitude":
        return
    params = {"p_ratio": p.p_ratio, "nk_n": p.nk_n, "nk_k": p.nk_k}
    width = max(2, p.nk_n)
    if s.total is None or len(s.top) < width:
        yield _finding("dominance", REVIEW, Said("no_evidence_columns", width=width), table, params)
        return
    for cell in table.cells:
        if cell.suppressed or cell.count == 0:  # not shown, or empty: the threshold rules judge it
            continue
        verdict = _dominance_of(cell, p, width)
        if verdict:
            outcome, code, values = verdict
            yield _finding("dominance", outcome, Said(code, cell=cell.label(s.cell_dimensions), **values), table,
                           params, cell, cell.total)


def _dominance_of(cell: Cell, p: Parameters, width: int) -> tuple[str, str, dict] | None:
    """The outcome, and what is said of it (a code of airlock/said.py and its values)."""
    top = cell.top[:width]
    if cell.total is None or any(t is None for t in top):
        return REVIEW, "dominance_unjudged", {"evidence": EVIDENCE}
    if cell.total < 0 or (cell.negatives or 0) > 0 or any(t < 0 for t in top) or \
            (cell.smallest is not None and cell.smallest < 0):
        return REVIEW, "dominance_negative", {}
    if cell.count is not None and cell.missing is not None and cell.count <= cell.missing:
        return None  # no value at all: nothing to dominate (the missing rule sends it to a person)
    top1, top2 = top[0], top[1]
    if cell.total == 0:  # every contribution is zero: each contributor's value is known
        return BLOCKED, "dominance_zero", {}
    if top1 > 0 and (cell.total - top1 - top2) / top1 < p.p_ratio:
        return BLOCKED, "dominance_p", {"ratio": f"{p.p_ratio:.0%}"}
    if sum(top[:p.nk_n]) >= p.nk_k * cell.total:
        return BLOCKED, "dominance_nk", {"n": p.nk_n, "share": f"{sum(top[:p.nk_n]) / cell.total:.0%}",
                                         "k": f"{p.nk_k:.0%}"}
    return None


def same_values(table: OutputTable, p: Parameters) -> Iterator[Finding]:
    """ACRO's "all values are the same": when a cell's contributions are all equal, its total (or mean)
    tells each contributor's value. A common value can be a public tariff, so a person judges it."""
    s = table.structure
    for cell in table.cells:
        if s.kind != "magnitude" or cell.suppressed or cell.smallest is None or len(cell.top) < 2:
            continue
        top1, top2 = cell.top[0], cell.top[1]
        if top1 is not None and top1 != 0 and top1 == top2 == cell.smallest:
            yield _finding("same_values", REVIEW, Said("same_values", cell=cell.label(s.cell_dimensions),
                                                       value=f"{top1:g}"), table, {}, cell, top1)


IDENTIFIER_NAMES = re.compile(
    r"^(BEN_NIR_\w*|NIR_ANO_\w*|BEN_IDT_ANO|BEN_IDT_TOP|NUM_ENQ|ASS_NIR_ANO|PFS_\w+|PSP_PPS_NUM|\w*_PSEUDO\w*|"
    r"pseudonym\w*|patient_?id|person_?id|nir\w*|ipp)$", re.IGNORECASE)


def identifiers(table: OutputTable, p: Parameters) -> Iterator[Finding]:
    """No person or health professional identifier, by name or by the look of the values, in any
    case or encoding (airlock/identifiers.py)."""
    measures = {table.structure.count, table.structure.total} - {None}
    for column in table.columns:
        if IDENTIFIER_NAMES.match(column):
            yield Finding("identifiers", BLOCKED, Said("identifier_name", column=column), table.name, {},
                          column=column)
            continue
        hit = ids.first(_texts(table, column), lambda v, c=column: ids.shaped(v, c, measure=c in measures))
        if hit is not None:
            yield Finding("identifiers", BLOCKED, Said("identifier_value", column=column, what=hit[1], row=hit[0]),
                          table.name, {}, row=hit[0], column=column)


def project_identifiers(known: ids.Known) -> Rule:
    """The project's own pseudonyms and surrogates, cut, upper-cased or encoded (in its workspace)."""

    def rule(table: OutputTable, p: Parameters) -> Iterator[Finding]:
        if not known:
            return
        for column in table.columns:
            hit = ids.first(_texts(table, column), lambda v: ids.ours(v, known))
            if hit is not None:
                yield Finding("identifiers", BLOCKED, Said("identifier_value", column=column, what=hit[1], row=hit[0]),
                              table.name, {}, row=hit[0], column=column)

    return rule


def evidence_kept_inside(table: OutputTable, p: Parameters) -> Iterator[Finding]:
    """Each cell's largest contributions are evidence for the checks, never part of an output."""
    inside = [c for c in table.columns if TOP.match(c) or c.lower() == "smallest"]
    if inside:
        yield Finding("evidence_inside", BLOCKED, Said("evidence_inside", columns=", ".join(inside),
                                                       evidence=f"{table.name}{EVIDENCE}"),
                      table.name, {}, column=inside[0])


# what a table of groups looks like (issue 14 "Why" 2: counts of 1 declared a "dimension" in the
# researcher's own .sdc.json passed): declarations may add rules, never take one away
RECORDS_FROM = 20  # rows from which a dimension with a value per row, or all-ones, is record-level data


def structure_from_content(table: OutputTable, p: Parameters) -> Iterator[Finding]:
    """The content decides what a column is, whatever the declaration says: a column named as counts
    is checked as counts; a dimension holding only 1s says each row is one record; in a table of
    several dimensions, one with a different value on (almost) every row identifies the rows."""
    s = table.structure
    rows = max((c.row for c in table.cells), default=0)
    for name in s.dimensions:
        values = _texts(table, name)
        if name.lower() in COUNT_NAMES and name != s.count:
            small = [(i + 1, v) for i, v in enumerate(values) if v.isdigit() and 0 < int(v) < p.threshold]
            for row, value in small[:50]:
                yield Finding("counts_as_dimension", BLOCKED, Said("counts_as_dimension", column=name, row=row,
                                                                   count=value, threshold=p.threshold), table.name,
                              {"threshold": p.threshold}, row=row, column=name, value=int(value))
        if rows >= 2 and values and set(values) == {"1"}:
            yield Finding("one_record_per_row", BLOCKED, Said("one_record_per_row", column=name), table.name, {},
                          column=name)
        if len(s.dimensions) > 1 and rows >= RECORDS_FROM and len(set(values)) >= 0.9 * rows:
            yield Finding("row_identifier", BLOCKED, Said("row_identifier", column=name, distinct=len(set(values)),
                                                          rows=rows), table.name, {"rows": rows}, column=name)


def _texts(table: OutputTable, name: str) -> list[str]:
    column = table.text_columns.get(name)
    return [] if column is None else ["" if v is None else str(v).strip() for v in column.to_pylist()]


def microdata(persons: int | None) -> Rule:
    """A table with about as many rows as the project has persons is record-level data, whatever
    its columns: at least half as many rows as persons (the extract's cohort), from 20 rows."""

    def rule(table: OutputTable, p: Parameters) -> Iterator[Finding]:
        rows = max((c.row for c in table.cells), default=0)
        if persons and rows >= RECORDS_FROM and rows >= persons / 2:
            yield Finding("microdata", BLOCKED, Said("microdata", file=table.name, rows=rows, persons=persons),
                          table.name, {"persons": persons, "rows": rows})

    return rule


TABLE_RULES: dict[str, Rule] = {
    "structure": structure_from_content,
    "evidence_inside": evidence_kept_inside,
    "identifiers": identifiers,
    "min_count": min_count,
    "zeros": zeros,
    "secondary_suppression": secondary_suppression,
    "dominance": dominance,
    "same_values": same_values,
    "missing": missing,
}

DOF = re.compile(r"(?:Df Residuals|df_resid|residual degrees of freedom)\W*(\d+)", re.IGNORECASE)


def degrees_of_freedom(name: str, text: str, p: Parameters) -> Iterator[Finding]:
    """A model's output (statsmodels summary, JSON with df_resid): residual DoF ≥ the minimum."""
    for match in DOF.finditer(text):
        dof = int(match.group(1))
        if dof < p.min_dof:
            yield Finding("degrees_of_freedom", BLOCKED, Said("few_dof", dof=dof, min_dof=p.min_dof), name,
                          {"min_dof": p.min_dof}, value=dof)

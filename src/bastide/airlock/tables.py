"""An output table as the disclosure checks see it (SPE-08): cells, each with its dimensions,
its count of persons and, for magnitude tables, its total and largest contributors — the
evidence the dominance rules need, which a published table does not otherwise carry.

The structure is declared in a sidecar `<file>.sdc.json` (kind, dimensions, count, total, top,
structural zeros, layout) or inferred from the column names. Suppressed cells are written with
a marker (empty, `c`, `x`, `*`, `<10`…); they are not missing values."""

from __future__ import annotations

import csv
import json
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from bastide.airlock.said import Said
from bastide.errors import InvalidInput

COUNT_NAMES = frozenset({"n", "count", "counts", "nb", "effectif", "effectifs", "freq", "frequency", "persons",
                         "patients", "n_persons", "n_patients", "nb_patients", "nombre"})
TOTAL_NAMES = frozenset({"sum", "total", "somme", "amount", "montant"})
TOP = re.compile(r"^(?:top|max)_?(\d)$", re.IGNORECASE)  # top1, top_2, max1: the largest contributors
SUPPRESSED = frozenset({"", "c", "x", "s", "*", "-", "suppressed", "masqué", "secret"})
SUPPRESSED_BELOW = re.compile(r"^[<≤]\s*=?\s*\d+$")  # "<10", "≤ 10"
TABLE_SUFFIXES = (".csv", ".parquet")
# Beside a table, for the checks only (they never leave): its declared structure, and the evidence
# of dominance, each cell's largest contributions (its dimension columns and top1, top2…), with
# optionally its smallest contribution, how many are negative, how many rows had no value, and the
# total when the table shows a mean instead (issue 14: negatives hidden below the two largest passed).
DECLARATION, EVIDENCE = ".sdc.json", ".sdc.csv"


def is_evidence(name: str) -> bool:
    """A file a job writes beside an output for the checks (its declaration, its contributions):
    read by the checks, never released itself."""
    return name.endswith((DECLARATION, EVIDENCE))
EVIDENCE_EXTRA = ("smallest", "negatives", "missing", "total")


class UnreadableTable(InvalidInput):
    """A table the checks cannot read, said by code (airlock/said.py) so that a page words it."""
    code = "unreadable_table"

    def __init__(self, code: str, **values):
        self.said = Said(code, **values)
        super().__init__(str(self.said), details=self.said.values, words=f"finding_{code}")


@dataclass(frozen=True)
class Structure:
    kind: str  # frequency | magnitude
    dimensions: tuple[str, ...]
    count: str | None  # the column of counts of persons (or records) per cell
    total: str | None = None  # magnitude tables: the cell's total, on which dominance is judged
    top: tuple[str, ...] = ()  # the cell's largest contributions, largest first
    structural_zeros: tuple[tuple[str, ...], ...] = ()  # cells that are zero by construction
    layout: str = "long"  # long: a row per cell; wide: a crosstab, one count column per category
    declared: bool = False

    @property
    def cell_dimensions(self) -> tuple[str, ...]:
        """What a cell's key lists: a crosstab's column headers are its second dimension."""
        return (*self.dimensions, "column") if self.layout == "wide" else self.dimensions

    def to_dict(self) -> dict:
        return {"kind": self.kind, "dimensions": list(self.dimensions), "count": self.count, "total": self.total,
                "top": list(self.top), "layout": self.layout, "declared": self.declared}


@dataclass(frozen=True)
class Cell:
    key: tuple[str, ...]  # its dimension values, as text
    row: int  # the data row in the file, 1 for the first row after the header
    column: str  # the file's column holding its count
    count: int | None  # None when suppressed or missing
    suppressed: bool = False
    total: float | None = None
    top: tuple[float | None, ...] = ()  # None: no evidence for this cell
    smallest: float | None = None
    negatives: int | None = None  # contributions below zero, when the evidence says
    missing: int | None = None  # rows of the cell without a value, when the evidence says

    def label(self, dimensions: tuple[str, ...]) -> str:
        return ", ".join(f"{d}={v}" for d, v in zip(dimensions, self.key, strict=True)) or "the table"


@dataclass
class OutputTable:
    name: str
    structure: Structure
    cells: list[Cell]
    columns: list[str]
    text_columns: dict[str, pa.ChunkedArray] = field(default_factory=dict)  # every column, for identifier checks


def read(path: Path, *, declared: dict | None = None) -> OutputTable:
    """The file's cells under its declared (argument, else sidecar) or inferred structure."""
    data = load(path)
    if data.num_rows == 0:
        raise UnreadableTable("table_no_rows", file=path.name)
    hidden = [f.name for f in data.schema if not _plain(f.type)]
    if hidden:  # values the rules cannot read would leave unread (issue 14)
        raise UnreadableTable("table_nested", file=path.name, columns=", ".join(hidden))
    declared = declared if declared is not None else _sidecar(path)
    structure = _declared(declared, data.column_names) if declared else _inferred(data)
    cells = _wide_cells(data, structure) if structure.layout == "wide" else _long_cells(data, structure)
    evidence = path.with_name(path.name + EVIDENCE)
    if evidence.is_file() and structure.layout == "long":
        structure, cells = _with_evidence(structure, cells, load(evidence))
    columns = {name: data.column(name) for name in data.column_names}
    return OutputTable(path.name, structure, cells, data.column_names, columns)


SAMPLE = 1 << 16
DELIMITERS = ",;\t"


@dataclass(frozen=True)
class Dialect:
    """How a CSV file is written: French spreadsheets separate with ';' (the decimal comma is read
    by `_number`) and save in Windows-1252 unless told otherwise (issue 14 "Why" 5: a ';' file was
    read as one column, and its cell of 7 went to review instead of being blocked)."""
    delimiter: str
    encoding: str


def dialect(path: Path) -> Dialect:
    sample = path.read_bytes()[:SAMPLE]
    try:
        text, encoding = sample.decode("utf-8"), "utf-8"
    except UnicodeDecodeError as exc:
        if exc.start >= len(sample) - 3:  # a character cut by the sample's end: UTF-8 all the same
            text, encoding = sample[:exc.start].decode("utf-8"), "utf-8"
        else:
            text, encoding = sample.decode("cp1252", errors="replace"), "cp1252"
    lines = [line for line in text.lstrip("\ufeff").splitlines()[:50] if line.strip()]
    try:
        found = csv.Sniffer().sniff("\n".join(lines), delimiters=DELIMITERS).delimiter
    except csv.Error:  # one column, or nothing to tell by: the separator the header holds most of
        found = max(DELIMITERS, key=lambda d: lines[0].count(d) if lines else 0) if lines else ","
        found = found if lines and found in lines[0] else ","
    return Dialect(found, encoding)


def load(path: Path) -> pa.Table:
    """The table's columns and rows, CSV in its dialect (every column as text) or Parquet."""
    if path.stat().st_size == 0:
        raise UnreadableTable("table_empty", file=path.name)
    try:
        if path.suffix.lower() == ".parquet":
            return pq.read_table(path)
        written = dialect(path)
        read = pa_csv.ReadOptions(encoding=written.encoding)
        parse = pa_csv.ParseOptions(delimiter=written.delimiter)
        # every column as text: counts may hold suppression markers, codes keep their leading zeros
        with pa_csv.open_csv(path, read_options=read, parse_options=parse) as reader:
            header = reader.schema.names
        options = pa_csv.ConvertOptions(column_types={c: pa.string() for c in header}, strings_can_be_null=False)
        return pa_csv.read_csv(path, read_options=read, parse_options=parse, convert_options=options)
    except (pa.ArrowInvalid, OSError, UnicodeDecodeError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise UnreadableTable("table_malformed", file=path.name, detail=first) from None


def _plain(kind: pa.DataType) -> bool:
    t = pa.types
    return (t.is_string(kind) or t.is_large_string(kind) or t.is_integer(kind) or t.is_floating(kind)
            or t.is_boolean(kind) or t.is_date(kind) or t.is_timestamp(kind) or t.is_decimal(kind) or t.is_null(kind))


def _sidecar(path: Path) -> dict | None:
    side = path.with_name(path.name + ".sdc.json")
    if not side.is_file():
        return None
    try:
        return json.loads(side.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise UnreadableTable("declaration_not_json", file=side.name, detail=exc) from None


def _declared(spec: dict, names: list[str]) -> Structure:
    def known(column: str | None) -> str | None:
        if column is not None and column not in names:
            raise UnreadableTable("declared_column_unknown", column=column, columns=", ".join(names))
        return column

    layout = spec.get("layout", "long")
    known(spec.get("mean"))  # a table of means: its total comes with the evidence
    dims = tuple(known(d) for d in spec.get("dimensions", names[:1] if layout == "wide" else []))
    zeros = tuple(tuple(str(v) for v in z) for z in spec.get("structural_zeros", []))
    return Structure(kind=spec.get("kind", "magnitude" if spec.get("total") else "frequency"), dimensions=dims,
                     count=known(spec.get("count")), total=known(spec.get("total")),
                     top=tuple(known(t) for t in spec.get("top", [])), structural_zeros=zeros, layout=layout,
                     declared=True)


def _inferred(data: pa.Table) -> Structure:
    names = data.column_names
    count = next((c for c in names if c.lower() in COUNT_NAMES), None)
    top = tuple(sorted((c for c in names if TOP.match(c)), key=lambda c: int(TOP.match(c).group(1))))
    total = next((c for c in names if c.lower() in TOTAL_NAMES), None)
    if count is None and total is None and len(names) > 1 and all(_numeric(data.column(c)) for c in names[1:]):
        return Structure(kind="frequency", dimensions=(names[0],), count=None, layout="wide")  # a crosstab
    evidence = {count, total, *top}
    # codes and years are integers too: only columns with decimals are measures, not dimensions
    dims = tuple(c for c in names if c not in evidence and not _measure(data.column(c)))
    return Structure(kind="magnitude" if total or top else "frequency", dimensions=dims, count=count, total=total,
                     top=top)


def _numeric(column: pa.ChunkedArray, decimals: bool = False) -> bool:
    """Whether every value is a number or a suppression marker (integers only unless `decimals`)."""
    if pa.types.is_integer(column.type) or decimals and pa.types.is_floating(column.type):
        return True
    if not pa.types.is_string(column.type):
        return False
    text = pc.utf8_lower(pc.utf8_trim_whitespace(column))
    number = pc.match_substring_regex(text, r"^-?\d+(\.\d+)?$" if decimals else r"^-?\d+$")
    marker = pc.or_(pc.is_in(text, pa.array(sorted(SUPPRESSED))), pc.match_substring_regex(text, SUPPRESSED_BELOW.pattern))
    return pc.any(number).as_py() and pc.all(pc.or_(number, marker)).as_py()


def _measure(column: pa.ChunkedArray) -> bool:
    return pa.types.is_floating(column.type) or (_numeric(column, decimals=True) and not _numeric(column))


def _is_marker(value: Any) -> bool:
    return isinstance(value, str) and (value.strip().lower() in SUPPRESSED or bool(SUPPRESSED_BELOW.match(value.strip())))


def _number(value: Any, *, row: int, column: str) -> tuple[float | None, bool]:
    """(the value, suppressed?) of one cell; None and not suppressed when missing."""
    if value is None:
        return None, False
    if isinstance(value, int | float):
        return (None, False) if value != value else (value, False)  # NaN is missing
    text = str(value).strip()
    if _is_marker(text):
        return None, True
    if text.lower() in ("na", "nan", "null", "none"):
        return None, False
    try:
        number = float(text.replace(",", "."))
    except ValueError:
        raise UnreadableTable("cell_not_a_number", row=row, column=column, text=text) from None
    return number, False


def _numbers(data: pa.Table, name: str | None) -> tuple[list, list[bool]]:
    """A column's values as numbers (None when missing or suppressed) and which were suppressed."""
    if name is None:
        return [None] * data.num_rows, [False] * data.num_rows
    column = data.column(name)
    try:  # the common case, no marker: one vectorised cast
        values = column.cast(pa.float64()).to_pylist()
        return [None if v is None or v != v else v for v in values], [False] * data.num_rows
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        parsed = [_number(v, row=i, column=name) for i, v in enumerate(column.to_pylist(), start=1)]
        return [v for v, _ in parsed], [hidden for _, hidden in parsed]


def _long_cells(data: pa.Table, s: Structure) -> list[Cell]:
    keys = zip(*(data.column(d).to_pylist() for d in s.dimensions), strict=True) if s.dimensions \
        else [()] * data.num_rows
    (counts, hidden), (totals, hidden_totals) = _numbers(data, s.count), _numbers(data, s.total)
    tops = list(zip(*(_numbers(data, t)[0] for t in s.top), strict=True)) if s.top else [()] * data.num_rows
    column = s.count or s.total or ""
    return [Cell(tuple("" if v is None else str(v) for v in key), i + 1, column,
                 None if counts[i] is None else int(counts[i]), hidden[i] or hidden_totals[i], totals[i], tops[i])
            for i, key in enumerate(keys)]


def _with_evidence(s: Structure, cells: list[Cell], evidence: pa.Table) -> tuple[Structure, list[Cell]]:
    """The cells' largest contributions (and what else the evidence says), by their dimension values.
    Evidence for a cell the table does not have means the two files do not belong together."""
    top = tuple(sorted((c for c in evidence.column_names if TOP.match(c)), key=lambda c: int(TOP.match(c).group(1))))
    missing = [d for d in s.dimensions if d not in evidence.column_names]
    if not top or missing:
        raise UnreadableTable("evidence_lacks", lacks=", ".join(missing) or "top1")
    keys = [tuple("" if v is None else str(v) for v in key)
            for key in zip(*(evidence.column(d).to_pylist() for d in s.dimensions), strict=True)]
    stray = sorted(set(keys) - {c.key for c in cells})
    if stray:
        raise UnreadableTable("evidence_mismatch", stray=len(stray), cell=", ".join(stray[0]))
    tops = list(zip(*(_numbers(evidence, t)[0] for t in top), strict=True))
    extra = {name: _numbers(evidence, name if name in evidence.column_names else None)[0] for name in EVIDENCE_EXTRA}
    by_key = {key: i for i, key in enumerate(keys)}
    total = s.total or ("total" if "total" in evidence.column_names else None)  # a table of means
    structure = replace(s, kind="magnitude" if total else s.kind, top=top, total=total)
    return structure, [_evidenced(c, by_key.get(c.key), tops, extra, len(top), from_evidence=not s.total)
                       for c in cells]


def _evidenced(cell: Cell, i: int | None, tops: list, extra: dict, width: int, *, from_evidence: bool) -> Cell:
    if i is None:
        return replace(cell, top=(None,) * width)

    def whole(value: float | None) -> int | None:
        return None if value is None else int(value)

    return replace(cell, top=tops[i], smallest=extra["smallest"][i], negatives=whole(extra["negatives"][i]),
                   missing=whole(extra["missing"][i]), total=extra["total"][i] if from_evidence else cell.total)


def _wide_cells(data: pa.Table, s: Structure) -> list[Cell]:
    label = s.dimensions[0]
    categories = [c for c in data.column_names if c != label]
    cells = []
    for i, row in enumerate(data.to_pylist(), start=1):
        for category in categories:
            count, suppressed = _number(row[category], row=i, column=category)
            cells.append(Cell((str(row[label]), category), i, category, None if count is None else int(count),
                              suppressed))
    return cells


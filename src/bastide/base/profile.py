"""What the dictionary says of each variable beyond its description (issue 18, item 1), counted
while the folders are written, from the Arrow batches already in memory (no second scan):

- empty values per column (completeness);
- for a date, the span of its real values and how many rows hold one of the SNDS's « no date »
  placeholders instead (1600-01-01 for the living in IR_BEN_R.BEN_DCD_DTE, 0001-01-01 and
  2600-01-01 elsewhere: base/deviations.py cites the pages);
- for a code of a nomenclature, which of its codes the column uses.

Only aggregates are published: a count, a span to the month, a number of codes. The codes
themselves are a public nomenclature's, never a person's (identifiers have no nomenclature and
are never kept); they stay with the folder in the catalogue, so that a table's count is the
union over its folders, a reused folder included.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date

import pyarrow as pa
import pyarrow.compute as pc

from bastide.base.deviations import FIRST_REAL_DATE, LAST_REAL_DATE
from bastide.base.schema import TableSchema

CODES_KEPT = 5000  # more codes than this in one column: "many" (IR_CIM_V's whole list is not counted by hand)
_FIRST, _LAST = date.fromisoformat(FIRST_REAL_DATE), date.fromisoformat(LAST_REAL_DATE)


@dataclass
class Profile:
    nulls: Counter = field(default_factory=Counter)
    dates: dict[str, list] = field(default_factory=dict)  # column -> [first, last (ISO, or None), placeholders]
    codes: dict[str, set[str] | None] = field(default_factory=dict)  # column -> codes used (None: too many)
    complete: bool = True  # False: the empty values only (a folder published before dates and codes were kept)

    def add(self, batch: pa.RecordBatch, schema: TableSchema) -> None:
        coded = {c.name for c in schema.columns if c.nomenclature}
        for name, column in zip(batch.schema.names, batch.columns, strict=True):
            if column.null_count:
                self.nulls[name] += column.null_count
            if pa.types.is_date(column.type) or pa.types.is_timestamp(column.type):
                self._add_dates(name, pc.cast(column, pa.date32(), safe=False))
            elif name in coded:
                self._add_codes(name, column)

    def _add_dates(self, name: str, days: pa.Array) -> None:
        real = pc.and_(pc.greater_equal(days, pa.scalar(_FIRST)), pc.less_equal(days, pa.scalar(_LAST)))
        kept = days.filter(real)
        span = pc.min_max(kept)
        low, high = (span["min"].as_py().isoformat(), span["max"].as_py().isoformat()) if span["min"].is_valid \
            else (None, None)
        self._join_dates(name, [low, high, len(days) - days.null_count - len(kept)])

    def _join_dates(self, name: str, other: list) -> None:
        """The widest span of both (either end may be unknown) and the sum of their placeholders."""
        mine = self.dates.get(name, [None, None, 0])
        firsts, lasts = [d for d in (mine[0], other[0]) if d], [d for d in (mine[1], other[1]) if d]
        self.dates[name] = [min(firsts, default=None), max(lasts, default=None), mine[2] + other[2]]

    def _add_codes(self, name: str, column: pa.Array) -> None:
        kept = self.codes.setdefault(name, set())
        if kept is None:
            return
        kept.update(str(v) for v in pc.unique(column).to_pylist() if v is not None)
        if len(kept) > CODES_KEPT:
            self.codes[name] = None

    def merge(self, other: Profile) -> None:
        self.nulls.update(other.nulls)
        self.complete = self.complete and other.complete
        for name, span in other.dates.items():
            self._join_dates(name, span)
        for name, codes in other.codes.items():
            mine = self.codes.setdefault(name, set())
            self.codes[name] = None if mine is None or codes is None or len(mine | codes) > CODES_KEPT else mine | codes

    def values(self) -> dict | None:
        """What the catalogue keeps with the folder beside its empty values (None: not known)."""
        if not self.complete:
            return None
        return {"dates": self.dates,
                "codes": {name: None if codes is None else sorted(codes) for name, codes in self.codes.items()}}

    @classmethod
    def kept(cls, nulls: dict | None, values: dict | None) -> Profile | None:
        """A reused folder's profile, as the catalogue kept it (None: not even its empty values)."""
        if nulls is None:
            return None
        if values is None:
            return cls(Counter(nulls), complete=False)
        return cls(Counter(nulls), {k: list(v) for k, v in values["dates"].items()},
                   {k: None if v is None else set(v) for k, v in values["codes"].items()})

    def summary(self) -> dict[str, dict] | None:
        """Per column, only aggregates: the span of its real dates to the month and the count of
        placeholders; the number of codes it uses (`capped`: more than CODES_KEPT)."""
        if not self.complete:
            return None
        out: dict[str, dict] = {}
        for name, (first, last, placeholders) in self.dates.items():
            out[name] = {"first": first[:7] if first else None, "last": last[:7] if last else None,
                         "placeholders": placeholders}
        for name, codes in self.codes.items():
            out[name] = {"codes": CODES_KEPT if codes is None else len(codes), "capped": codes is None}
        return out


def of_table(profiles: list[Profile | None]) -> Profile | None:
    """A table's profile from its folders', or None when a folder's is not known."""
    if not profiles or any(p is None for p in profiles):
        return None
    table = Profile()
    for folder in profiles:
        table.merge(folder)
    return table

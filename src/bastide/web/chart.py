"""A bar chart of a query's answer, drawn on the server as SVG (issue 18, item 8): no script (the
content security policy allows none), no extra data — only the rows the answer already shows,
so it is the same screen view, under the same egress rule. Horizontal bars: labels stay
readable at 390 px."""

from __future__ import annotations

from dataclasses import dataclass
from numbers import Real

LIMIT = 40  # bars at most; the answer's further rows are said, not drawn
LABEL_WIDTH, BAR_WIDTH, ROW_HEIGHT = 170, 260, 20


@dataclass(frozen=True)
class Bar:
    label: str
    value: float
    x: float
    y: float
    width: float


@dataclass(frozen=True)
class Chart:
    label: str  # the column the bars are named by
    value: str  # the column they measure
    bars: list[Bar]
    width: int
    height: int
    zero: float  # where the axis stands (negative values go left of it)
    left_out: int  # rows of the answer not drawn


def _number(value) -> bool:
    return isinstance(value, Real) and not isinstance(value, bool)


def bars(columns: list[str], rows: list[list], *, limit: int = LIMIT) -> Chart | None:
    """The first numeric column by the first other one, when the answer has one of each and two
    rows or more; None otherwise (nothing to draw)."""
    if len(rows) < 2 or len(columns) < 2:
        return None
    numeric = [i for i in range(len(columns))
               if all(r[i] is None or _number(r[i]) for r in rows) and any(_number(r[i]) for r in rows)]
    labels = [i for i in range(len(columns)) if i not in numeric] or numeric[:1]
    measured = [i for i in numeric if i != labels[0]]
    if not measured:
        return None
    x, y = labels[0], measured[0]
    shown = [r for r in rows if _number(r[y])][:limit]
    low, high = min(0.0, *(float(r[y]) for r in shown)), max(0.0, *(float(r[y]) for r in shown))
    scale = BAR_WIDTH / (high - low) if high > low else 0.0
    zero = LABEL_WIDTH + (0 - low) * scale
    drawn = [Bar(label=_text(r[x]), value=float(r[y]), x=min(zero, zero + float(r[y]) * scale), y=i * ROW_HEIGHT,
                 width=abs(float(r[y]) * scale)) for i, r in enumerate(shown)]
    return Chart(columns[x], columns[y], drawn, LABEL_WIDTH + BAR_WIDTH + 70, len(drawn) * ROW_HEIGHT + 4, zero,
                 len(rows) - len(shown))


def _text(value) -> str:
    text = "" if value is None else str(value)
    return text if len(text) <= 24 else text[:23] + "…"

"""The validation report: every problem names file, line, column, value and rule."""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field


@dataclass(frozen=True)
class Problem:
    table: str
    rule: str
    message: str
    file: str | None = None
    line: int | None = None
    column: str | None = None
    value: str | None = None


@dataclass
class Report:
    limit: int = 50
    problems: list[Problem] = field(default_factory=list)
    counts: Counter = field(default_factory=Counter)
    quarantined: Counter = field(default_factory=Counter)

    def add(self, problem: Problem, *, count: int = 1) -> None:
        key = (problem.table, problem.rule)
        if self.counts[key] < self.limit:
            self.problems.append(problem)
        self.counts[key] += count

    def extend(self, examples: list[Problem], *, total: int) -> None:
        for problem in examples[: self.limit]:
            self.problems.append(problem)
        if examples:
            self.counts[(examples[0].table, examples[0].rule)] += total

    @property
    def failed(self) -> bool:
        return bool(self.counts)

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def to_dict(self) -> dict:
        return {
            "problems": [asdict(p) for p in self.problems],
            "counts": [{"table": t, "rule": r, "count": n} for (t, r), n in sorted(self.counts.items())],
            "quarantined_rows": dict(self.quarantined),
        }

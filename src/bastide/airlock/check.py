"""Check one output file (SPE-07, SPE-08): the gate first (name, place, type, size, rows), then
the rules its kind calls for. Tables get every table rule; model outputs the degrees of
freedom; images and free text go to a person, with the reason. The same function serves the
researcher before submitting (`bastide airlock check`) and the platform at submission."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bastide.airlock import rules
from bastide.airlock.said import Said
from bastide.airlock.rules import BLOCKED, REVIEW, Finding, Parameters
from bastide.airlock.tables import TABLE_SUFFIXES, UnreadableTable, is_evidence, read

ALLOWED = (".csv", ".parquet", ".json", ".txt", ".md", ".png", ".jpg", ".jpeg", ".svg", ".html")
TEXT = (".json", ".txt", ".md", ".html")
IMAGES = (".png", ".jpg", ".jpeg", ".svg")


@dataclass(frozen=True)
class Report:
    file: str
    status: str  # blocked | review | pass
    findings: list[Finding]
    structure: dict | None = None

    def to_dict(self) -> dict:
        return {"file": self.file, "status": self.status, "structure": self.structure,
                "findings": [f.to_dict() for f in self.findings]}


def check_file(path: Path, *, params: Parameters = Parameters(), root: Path | None = None,
               declared: dict | None = None, extra: Sequence[rules.Rule] = ()) -> Report:
    """The findings on `path`; with `root`, the file must lie inside it (the workspace's outputs);
    `extra` rules run on tables after the built-in ones (the ledger's differencing)."""
    refused = _gate(path, params, root)
    if refused:
        return _report(path.name, [refused])
    suffix = path.suffix.lower()
    if suffix in TABLE_SUFFIXES:
        try:
            table = read(path, declared=declared)
        except UnreadableTable as exc:
            return _report(path.name, [Finding("readable", BLOCKED, exc.said, path.name, {})])
        if len(table.cells) and max(c.row for c in table.cells) > params.max_rows:
            return _report(path.name, [Finding("gate", BLOCKED, Said("too_many_rows", file=path.name,
                                                                     max_rows=params.max_rows), path.name,
                                               {"max_rows": params.max_rows})])
        found = [f for rule in (*rules.TABLE_RULES.values(), *extra) for f in rule(table, params)]
        return _report(path.name, found, table.structure.to_dict())
    text = path.read_text(encoding="utf-8", errors="replace") if suffix in TEXT else ""
    found = list(rules.degrees_of_freedom(path.name, text, params))
    said = Said("human_review_image" if suffix in IMAGES else "human_review_text", file=path.name)
    found.append(Finding("human_review", REVIEW, said, path.name, {}))
    return _report(path.name, found)


def _gate(path: Path, params: Parameters, root: Path | None) -> Finding | None:
    def refuse(code: str, parameters: dict | None = None, **values) -> Finding:
        return Finding("gate", BLOCKED, Said(code, file=path.name, **values), path.name, parameters or {})

    if root is not None:
        if ".." in Path(path).parts or path.is_symlink():
            return refuse("gate_outside")
        try:
            path.resolve().relative_to(root.resolve())
        except ValueError:
            return refuse("gate_not_in_outputs")
    if not path.is_file():
        return refuse("gate_not_a_file")
    if is_evidence(path.name):
        return refuse("gate_evidence")
    allowed = {"allowed": list(ALLOWED)}
    if not path.suffix:
        return refuse("gate_no_extension", allowed, allowed=", ".join(ALLOWED))
    if path.suffix.lower() not in ALLOWED:
        return refuse("gate_extension", allowed, extension=path.suffix, allowed=", ".join(ALLOWED))
    size = path.stat().st_size
    if size > params.max_bytes:
        return refuse("gate_too_large", {"max_bytes": params.max_bytes}, size=f"{size / 2**20:.0f}",
                      max_size=f"{params.max_bytes / 2**20:.0f}")
    return None


def _report(name: str, findings: list[Finding], structure: dict | None = None) -> Report:
    outcomes = {f.outcome for f in findings}
    status = BLOCKED if BLOCKED in outcomes else REVIEW if REVIEW in outcomes else "pass"
    return Report(name, status, findings, structure)

"""The SNDS nomenclatures shipped with the platform (snds_schema/nomenclatures: the public
referentials of schema-snds — ICD-10, CCAM, CIP, ATC, specialties…), browsable and searchable
by code or label for the data dictionary (issue 18, item 1). Public reference data, no person."""

from __future__ import annotations

import csv
import json
import unicodedata
from dataclasses import dataclass
from functools import cache

from bastide.base.schema import SNDS_NOMENCLATURE_DIR
from bastide.errors import InvalidInput, NotFound

PAGE = 50


@dataclass(frozen=True)
class Nomenclature:
    name: str
    title: str
    columns: tuple[str, ...]
    code: str  # the column holding the codes
    label: str | None  # the column holding their labels, if any
    rows: tuple[tuple[str, ...], ...]


@dataclass(frozen=True)
class Page:
    nomenclature: Nomenclature
    rows: list[tuple[str, ...]]
    matching: int  # rows that match the search (all of them without one)
    page: int
    pages: int


@cache
def shipped() -> dict[str, str]:
    """name -> title of each nomenclature whose codes are shipped (a schema without its CSV is not)."""
    return {path.stem: json.loads(path.with_suffix(".json").read_text(encoding="utf-8")).get("title", path.stem)
            for path in sorted(SNDS_NOMENCLATURE_DIR.glob("*.csv")) if path.with_suffix(".json").exists()}


@cache
def load(name: str) -> Nomenclature:
    if name not in shipped():
        raise NotFound(f"no nomenclature {name} is shipped with the platform (those shipped: "
                       f"{', '.join(shipped())})")
    path = SNDS_NOMENCLATURE_DIR / f"{name}.csv"
    schema = json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))
    roles = {f.get("role"): f["name"] for f in schema["fields"]}
    with open(path, encoding="utf-8", newline="") as fh:
        reader = csv.reader(fh, delimiter=";")
        columns = tuple(next(reader))
        rows = tuple(tuple(row) for row in reader if row)
    code = roles.get("code") or (schema.get("primaryKey") or [columns[0]])[0]
    return Nomenclature(name, schema.get("title", name), columns, code, roles.get("label"), rows)


def _folded(text: str) -> str:
    """Case and accents set aside: `electro` finds `Électromyographie`."""
    return "".join(c for c in unicodedata.normalize("NFKD", text.casefold()) if not unicodedata.combining(c))


def browse(name: str, text: str = "", page: int = 1) -> Page:
    """One page of `name`'s rows, those whose code or label holds `text` when one is given."""
    nomenclature = load(name)
    rows = list(nomenclature.rows)
    text = text.strip()
    if text:
        wanted = _folded(text)
        where = [nomenclature.columns.index(nomenclature.code)]
        if nomenclature.label:
            where.append(nomenclature.columns.index(nomenclature.label))
        rows = [r for r in rows if any(i < len(r) and wanted in _folded(r[i]) for i in where)]
    pages = max(1, -(-len(rows) // PAGE))
    if not 1 <= page <= pages:
        raise InvalidInput(f"page {page} does not exist: there are {pages}", details={"field": "page"})
    return Page(nomenclature, rows[(page - 1) * PAGE:page * PAGE], len(rows), page, pages)

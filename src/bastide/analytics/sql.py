"""Small helpers the analytics SQL shares."""

from __future__ import annotations

from bastide.base.deviations import FIRST_REAL_DATE, LAST_REAL_DATE

Columns = dict[str, list[str]]  # the tables at hand and their columns


def q(name: str) -> str:
    return f'"{name}"'


def text(expression: str) -> str:
    return f"CAST({expression} AS STRING)"


def listed(values) -> str:
    return ", ".join(f"'{v}'" for v in values)


def ok_code(expression: str) -> str:
    """A PMSI return code that says nothing is wrong: '0' (schema-snds types some as booleans)."""
    return f"({expression} IS NULL OR {text(expression)} IN ('0', 'false'))"




def real_date(expression: str) -> str:
    """The date, or NULL when it is one of the SNDS's placeholders for « no date »."""
    day = f"CAST({expression} AS DATE)"
    return f"(CASE WHEN {day} BETWEEN DATE '{FIRST_REAL_DATE}' AND DATE '{LAST_REAL_DATE}' THEN {day} END)"

"""Row rules derived from a Table Schema, as SQL conditions that are true for a bad row."""

from __future__ import annotations

from dataclasses import dataclass

from bastide.base.schema import Column, TableSchema


def q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def lit(value) -> str:
    return "'" + str(value).replace("'", "''") + "'"


@dataclass(frozen=True)
class Rule:
    rule: str
    column: str
    condition: str
    message: str


def _column_rules(col: Column, in_key: bool) -> list[Rule]:
    c, cons, rules = q(col.name), col.constraints, []
    if in_key or cons.get("required"):
        rules.append(Rule("required", col.name, f"{c} IS NULL", f"{col.name} is required"))
    if col.parsed_with_format:
        rules.append(Rule("type", col.name, f"{c} IS NOT NULL AND try_strptime({c}, {lit(col.format)}) IS NULL",
                          f"{col.name} is not a {col.type} in the format {col.format}"))
    if col.type == "yearmonth":
        rules.append(Rule("type", col.name, f"NOT regexp_full_match({c}, '[0-9]{{4}}-?[0-9]{{2}}')",
                          f"{col.name} is not a year-month (YYYYMM)"))
    if col.max_length is not None:
        # Integers: compare with 10^L rather than format each value as text (20x cheaper).
        too_long = f"length({c}) > {col.max_length}" if col.type == "string" else f"abs({c}) >= {10 ** col.max_length}"
        rules.append(Rule("length", col.name, too_long, f"{col.name} is longer than its declared length {col.max_length}"))
    if "minLength" in cons and col.type == "string":
        rules.append(Rule("length", col.name, f"length({c}) < {int(cons['minLength'])}",
                          f"{col.name} is shorter than {cons['minLength']}"))
    if "minimum" in cons and col.type in ("integer", "number"):
        rules.append(Rule("minimum", col.name, f"{c} < {cons['minimum']}", f"{col.name} is below {cons['minimum']}"))
    if "maximum" in cons and col.type in ("integer", "number"):
        rules.append(Rule("maximum", col.name, f"{c} > {cons['maximum']}", f"{col.name} is above {cons['maximum']}"))
    if cons.get("enum"):
        allowed = ", ".join(lit(v) for v in cons["enum"])
        rules.append(Rule("enum", col.name, f"CAST({c} AS VARCHAR) NOT IN ({allowed})",
                          f"{col.name} is not one of {cons['enum']}"))
    return rules


def row_rules(schema: TableSchema) -> list[Rule]:
    keys = set(schema.primary_key)
    return [rule for col in schema.columns for rule in _column_rules(col, col.name in keys)]


def unique_keys(schema: TableSchema) -> list[tuple[str, ...]]:
    """The primary key, then every single column declared unique."""
    keys = [schema.primary_key] if schema.primary_key else []
    keys += [(c.name,) for c in schema.columns if c.constraints.get("unique") and (c.name,) != schema.primary_key]
    return keys


def select_list(schema: TableSchema) -> str:
    """Columns as written to Parquet: full dates parsed, partial ones (a month) kept as text."""
    parts = []
    for col in schema.columns:
        c = q(col.name)
        if col.parsed_with_format and "%Y" in col.format:
            cast = "DATE" if col.type == "date" else "TIMESTAMP"
            parts.append(f"CAST(strptime({c}, {lit(col.format)}) AS {cast}) AS {c}")
        else:
            parts.append(c)
    return ", ".join(parts)

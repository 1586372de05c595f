"""What DuckDB and Spark SQL spell differently, in one place. Everything else the extract and
the analytics layer write is SQL both engines read the same way; these few functions differ
by name or arguments (and Spark reads "quoted" names as identifiers only with
`spark.sql.ansi.doubleQuotedIdentifiers`, which its sessions set)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Dialect:
    name: str
    _sha256: str  # binary -> lower-case hex text
    _utf8: str  # text -> binary
    _add_days: str  # date, integer -> date
    _days_between: str  # start date, end date -> integer days
    _hex_to_bigint: str  # hexadecimal text (at most 15 digits) -> BIGINT

    def sha256(self, binary: str) -> str:
        return self._sha256.format(binary)

    def utf8(self, text: str) -> str:
        return self._utf8.format(text)

    def add_days(self, date: str, days: str | int) -> str:
        return self._add_days.format(date, days)

    def days_between(self, start: str, end: str) -> str:
        return self._days_between.format(start, end)

    def hex_to_bigint(self, text: str) -> str:
        return self._hex_to_bigint.format(text)


DUCKDB = Dialect("duckdb", "sha256({})", "encode({})", "CAST({0} + {1} * INTERVAL 1 DAY AS DATE)",
                 "date_diff('day', {0}, {1})", "CAST(('0x' || {}) AS BIGINT)")
SPARK = Dialect("spark", "sha2({}, 256)", "CAST({} AS BINARY)", "date_add({0}, CAST({1} AS INT))", "datediff({1}, {0})",
                "CAST(conv({}, 16, 10) AS BIGINT)")

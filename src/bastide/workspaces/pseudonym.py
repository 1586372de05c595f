"""Project pseudonyms (PSE-01…PSE-03): every person identifier of an extract is replaced by
HMAC-SHA256(project key, identifier), so one person has one pseudonym throughout a project
and a different one in every other project; without the key, nothing links them back.

Surrogates (issue 13): claims, stays and health professionals get the same treatment, so that
two projects cannot link their extracts on DCIR's join keys, a stay's numbers or a
prescriber's number. A surrogate is HMAC(project key, "kind|value|value…") — the values as
text, NULLs left out, as `concat_ws` does on both engines — read as hexadecimal text (stays,
professionals) or as 60-bit integers (the claim's numeric keys, three slices of one digest).

`pseudonym` is the reference; `sql_pseudonym` is the same function as SQL that DuckDB and
Spark both speak (sha256 or sha2 over binary, by dialect; unhex, concatenation): HMAC written out,
H((K ⊕ opad) || H((K ⊕ ipad) || m)). The SQL carries the two padded blocks, not the key."""

from __future__ import annotations

import hashlib
import hmac

from bastide.query.dialect import DUCKDB, Dialect

BLOCK = 64  # SHA-256's block size


def pseudonym(key: bytes, identifier: str) -> str:
    return hmac.new(key, identifier.encode("utf-8"), hashlib.sha256).hexdigest()


def surrogate(key: bytes, kind: str, *values) -> str:
    """The reference of `sql_surrogate`: the hexadecimal digest of one claim, stay or professional."""
    return pseudonym(key, "|".join([kind, *(_text(v) for v in values if v is not None)]))


def number(digest: str, slice_: int) -> int:
    """The `slice_`-th 60-bit integer of a digest (what `sql_number` computes)."""
    return int(digest[NUMBER * slice_:NUMBER * (slice_ + 1)], 16)


def _text(value) -> str:
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


NUMBER = 15  # hexadecimal digits of a numeric surrogate: 60 bits, a positive BIGINT


def _pads(key: bytes) -> tuple[str, str]:
    if len(key) > BLOCK:
        key = hashlib.sha256(key).digest()
    key = key.ljust(BLOCK, b"\0")
    return bytes(b ^ 0x36 for b in key).hex(), bytes(b ^ 0x5C for b in key).hex()


def sql_pseudonym(key: bytes, expression: str, dialect: Dialect = DUCKDB) -> str:
    """A SQL expression of `expression` (text) giving `pseudonym(key, value)`; NULL stays NULL."""
    inner, outer = _pads(key)
    value = dialect.utf8(f"CAST({expression} AS STRING)")
    inner_hash = dialect.sha256(f"unhex('{inner}') || {value}")
    return dialect.sha256(f"unhex('{outer}') || unhex({inner_hash})")


def sql_surrogate(key: bytes, kind: str, expressions: list[str], dialect: Dialect = DUCKDB) -> str:
    """`surrogate(key, kind, *values)` in SQL, over the columns or expressions given."""
    values = ", ".join(f"CAST({e} AS STRING)" for e in expressions)
    return sql_pseudonym(key, f"concat_ws('|', '{kind}', {values})", dialect)


def sql_number(digest: str, slice_: int, dialect: Dialect = DUCKDB) -> str:
    """The `slice_`-th 60-bit integer of a digest column, as BIGINT."""
    return dialect.hex_to_bigint(f"substr({digest}, {NUMBER * slice_ + 1}, {NUMBER})")

"""Project pseudonyms (PSE-01…PSE-03): every person identifier of an extract is replaced by
HMAC-SHA256(project key, identifier), so one person has one pseudonym throughout a project
and a different one in every other project; without the key, nothing links them back.

`pseudonym` is the reference; `sql_pseudonym` is the same function as SQL that DuckDB and
Spark both speak (sha256 or sha2 over binary, by dialect; unhex, concatenation): HMAC written out,
H((K ⊕ opad) || H((K ⊕ ipad) || m)). The SQL carries the two padded blocks, not the key."""

from __future__ import annotations

import hashlib
import hmac

from bastide.workspaces.dialect import DUCKDB, Dialect

BLOCK = 64  # SHA-256's block size


def pseudonym(key: bytes, identifier: str) -> str:
    return hmac.new(key, identifier.encode("utf-8"), hashlib.sha256).hexdigest()


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

"""Identifiers in an output's values, in whatever form they come (issue 14 "Why" 3: 300
person-level rows keyed by UPPERCASE or 16-hex-truncated project pseudonyms passed).

Each value is looked at as written, lower-cased, and as what it may encode (base64 or hex of a
text); each form is matched against:
- the project's own identifiers, when the checks run in its workspace: the first 8 hexadecimal
  digits of every pseudonym and surrogate of its extract (persons, stays, professionals), so a
  pseudonym cut to 8 characters or more, in any case, is found; and its claims' numbers;
- the shape of a pseudonym (64 hexadecimal digits), of a NIR (sex, year, month, 8 digits, a key
  or not: documentation-snds, fiche identifiants des bénéficiaires) — anywhere, offline too;
- a full date of birth, in a column named as one (a month or a year is fine).
Values of only digits are not taken as hexadecimal under 12 characters: codes and dates
(20231231) would meet a prefix by chance."""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterator
from dataclasses import dataclass, field

PSEUDONYM = re.compile(r"^[0-9a-f]{64}$")
NIR = re.compile(r"^[12]\d{2}(?:0[1-9]|1[0-2]|[2-9]\d)(?:\d{2}|2[ab])\d{6}(?:\d{2})?$")
HEX = re.compile(r"^[0-9a-f]{8,}$")
BASE64 = re.compile(r"^[A-Za-z0-9+/_-]{12,}={0,2}$")
BIRTH = re.compile(r"(naiss|birth|\bdob\b|born|_nai_|^nai_|ben_nai)", re.IGNORECASE)
FULL_DATE = re.compile(r"^(?:\d{4}-\d{2}-\d{2}|\d{2}/\d{2}/\d{4}|\d{2}-\d{2}-\d{4})(?:[ T].*)?$")
PREFIX = 8


@dataclass(frozen=True)
class Known:
    """The project's own identifiers, compactly: 32-bit prefixes of its hexadecimal ones, and its
    claims' numbers as text."""
    prefixes: frozenset[int] = field(default_factory=frozenset)
    texts: frozenset[str] = field(default_factory=frozenset)

    @classmethod
    def of(cls, hexadecimal, numbers=()) -> Known:
        prefixes = {int(v[:PREFIX], 16) for v in hexadecimal if isinstance(v, str) and HEX.match(v.lower())}
        return cls(frozenset(prefixes), frozenset(str(n) for n in numbers if n is not None))

    def __bool__(self) -> bool:
        return bool(self.prefixes or self.texts)


def forms(value: str) -> Iterator[str]:
    """The value lower-cased, then what it may encode (base64, hex of text)."""
    text = value.strip()
    yield text.lower()
    if BASE64.match(text):
        decoded = _printable(lambda: base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_"))
        if decoded:
            yield decoded.lower()
    if len(text) >= 16 and len(text) % 2 == 0 and HEX.match(text.lower()):
        decoded = _printable(lambda: bytes.fromhex(text))
        if decoded:
            yield decoded.lower()


def _printable(decode) -> str | None:
    try:
        raw = decode()
    except (ValueError, binascii.Error):
        return None
    try:
        text = raw.decode("ascii")
    except UnicodeDecodeError:
        return None
    return text.strip() if text.strip() and text.isprintable() else None


def shaped(value: str, column: str, *, measure: bool = False) -> str | None:
    """What identifier `value` looks like, anywhere (no project needed), or None. A measure (a
    count, a total) is not read as a NIR: large totals have 13 digits too."""
    for form in forms(value):
        if PSEUDONYM.match(form):
            return "a pseudonym"
        if not measure and NIR.match(form):
            return "a number shaped like a NIR"
    if BIRTH.search(column) and FULL_DATE.match(value.strip()):
        return "a full date of birth"
    return None


def ours(value: str, known: Known) -> str | None:
    """Which of the project's own identifiers `value` is or holds, or None."""
    for form in forms(value):
        digits = form.isdigit()
        if HEX.match(form) and (not digits or len(form) >= 12) and int(form[:PREFIX], 16) in known.prefixes:
            return "a project pseudonym or surrogate, or its first characters"
        if digits and form in known.texts:
            return "a claim number of the project"
    return None


def first(values: list, test) -> tuple[int, str] | None:
    """The first row (1-based) whose value `test` names an identifier, and what it is."""
    for row, value in enumerate(values, start=1):
        found = None if value is None else test(str(value))
        if found:
            return row, found
    return None

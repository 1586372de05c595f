"""The operator's register: who runs each endpoint, under which jurisdiction (SOV-01…06).

A TOML file the operator keeps (BASTIDE_SOVEREIGNTY_REGISTER), one table per operator:

    [[operator]]
    name = "Provider SAS"
    jurisdiction = "FR"                      # ISO 3166-1 country of the seat that answers for it
    qualification = "SecNumCloud 3.2, attestation 2026-014"   # optional
    serves = ["*.provider.example", "pkcs11:token=bastide"]   # hosts (wildcards) or HSM tokens

The platform cannot know who operates a host: it says what the register says, and flags what
the register does not cover and what is outside the European Union."""

from __future__ import annotations

import fnmatch
import tomllib
from dataclasses import dataclass
from pathlib import Path

from bastide.errors import ConfigError

# the Member States (SOV-02: data and technical data in the EU; SNDS hosting: SOV-06)
EU = frozenset({"AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU", "IE", "IT", "LT",
                "LU", "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK"})


@dataclass(frozen=True)
class Operator:
    name: str
    jurisdiction: str
    qualification: str | None
    serves: tuple[str, ...]

    @property
    def in_eu(self) -> bool:
        return self.jurisdiction in EU


def read(path: Path | None) -> list[Operator]:
    if path is None:
        return []
    try:
        data = tomllib.loads(Path(path).read_text())
    except OSError as exc:
        raise ConfigError(f"cannot read the sovereignty register {path}: {exc.strerror}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"the sovereignty register {path} is not valid TOML: {exc}") from exc
    return [_operator(path, i, entry) for i, entry in enumerate(data.get("operator", []), start=1)]


def _operator(path: Path, number: int, entry: dict) -> Operator:
    missing = [k for k in ("name", "jurisdiction", "serves") if not entry.get(k)]
    if missing:
        raise ConfigError(f"operator {number} of {path} lacks {', '.join(missing)}")
    jurisdiction = str(entry["jurisdiction"]).upper()
    if len(jurisdiction) != 2 or not jurisdiction.isalpha():
        raise ConfigError(f"operator {entry['name']!r} of {path}: jurisdiction {entry['jurisdiction']!r} is not an "
                          "ISO 3166-1 country code (FR, DE, US…)")
    return Operator(str(entry["name"]), jurisdiction, entry.get("qualification"), tuple(map(str, entry["serves"])))


def operator_of(operators: list[Operator], address: str) -> Operator | None:
    """The first operator whose `serves` matches the address (a host, pkcs11:token=…)."""
    return next((o for o in operators if any(fnmatch.fnmatch(address.lower(), p.lower()) for p in o.serves)), None)

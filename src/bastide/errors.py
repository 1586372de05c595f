"""Domain errors: every failure a user can cause has a code, a message and details.

No HTTP here: the API maps `http_status` into the one JSON envelope, the CLI prints
`message` and exits with `exit_code`.
"""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    code = "error"
    http_status = 400
    exit_code = 1

    def __init__(self, message: str, *, details: dict[str, Any] | None = None, code: str | None = None,
                 words: str | None = None):
        super().__init__(message)
        self.message = message
        self.details = details or {}
        if code:
            self.code = code
        # the catalogue text that words it on a page, its values from `details`: `said_<code>` unless
        # a family of texts already says it (a scope problem is `scope_<rule>`)
        self.words = words or f"said_{self.code}"


class ConfigError(DomainError):
    code = "config_invalid"
    http_status = 500
    exit_code = 78  # EX_CONFIG


class NotFound(DomainError):
    code = "not_found"
    http_status = 404
    exit_code = 4


class Conflict(DomainError):
    code = "conflict"
    http_status = 409
    exit_code = 5


class InvalidInput(DomainError):
    code = "invalid_input"
    http_status = 422
    exit_code = 2


class ValidationFailed(DomainError):
    """A delivery broke its schema; details carry the report."""

    code = "validation_failed"
    http_status = 422
    exit_code = 3


class IntegrityError(DomainError):
    """Stored bytes do not match what was signed: tampering or corruption."""

    code = "integrity_failed"
    http_status = 409
    exit_code = 6


class StorageError(DomainError):
    code = "storage_unavailable"
    http_status = 503
    exit_code = 7


class Unavailable(DomainError):
    """Something this work needs is not installed or not running here (bubblewrap, Spark…)."""
    code = "unavailable"
    http_status = 503
    exit_code = 69  # EX_UNAVAILABLE


class KeyUnavailable(DomainError):
    code = "key_unavailable"
    http_status = 409
    exit_code = 8


class TransitionNotAllowed(DomainError):
    code = "transition_not_allowed"
    http_status = 409
    exit_code = 5


class LimitReached(DomainError):
    """A limit the platform sets on what one person or one workspace may take (rows viewed,
    bytes, attempts); the message says what the limit is and the way on."""
    code = "limit_reached"
    http_status = 429
    exit_code = 9


def not_among(field: str, choices) -> InvalidInput:
    """A value outside its field's few choices (a crafted form, a script's typo), said the same way
    for every such field so that one catalogue text words them all."""
    choices = [str(c) for c in choices]
    return InvalidInput(f"{field} is one of {', '.join(choices)}", details={"field": field, "choices": choices},
                        code="not_a_choice")

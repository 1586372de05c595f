"""The application form: EHDS Art. 67(2)(a)–(k) and 67(4), kept as data (Art. 70 templates are
not final), checked on submission with every missing element named (GOV-01, GOV-03, GOV-05)."""

from __future__ import annotations

from enum import StrEnum

from bastide.errors import InvalidInput


class Procedure(StrEnum):  # GOV-23
    STANDARD = "standard"  # CESREES opinion + CNIL authorisation
    MR_004 = "MR-004"
    MR_005 = "MR-005"
    MR_006 = "MR-006"
    MR_007 = "MR-007"
    MR_008 = "MR-008"
    EGB_SIMPLIFIED = "egb-simplified"
    PERMANENT = "permanent"


# Art. 53(1): (a)–(c) are open to public-sector bodies only.
PURPOSES = {
    "a": "public interest in public and occupational health",
    "b": "policy making and regulatory activities",
    "c": "statistics",
    "d": "education or teaching in health or care",
    "e": "scientific research related to health or care",
    "f": "improvement of the delivery of care and of treatments",
}
PUBLIC_ONLY = {"a", "b", "c"}

# field -> the Art. 67 element it answers
REQUIRED = {
    "persons": "67(2)(a) natural persons who will access the data",
    "functions": "67(2)(a) professional functions and activities of the applicant",
    "purpose": "67(2)(b) purpose under Art. 53(1)",
    "use": "67(2)(c) intended use and expected benefit",
    "data": "67(2)(d) requested data",
    "pseudonymised": "67(2)(e) pseudonymised or anonymised",
    "brought_datasets": "67(2)(f) datasets brought into the SPE (an empty list if none)",
    "safeguards": "67(2)(g) safeguards",
    "tools": "67(2)(i) tools and computing resources",
    "ethics": "67(2)(j) ethics assessment information",
    "optout_exception": "67(2)(k) opt-out exception ('none' if none)",
}
DATA_REQUIRED = ("snapshot", "tables", "years")

# 67(2)(i) asks for the computing resources; where the project needs the cluster, it says so here and
# its permit names the engine (docs/scale.md). Left empty, the platform's own engine serves it.
ENGINES = {"duckdb": "a workspace's own node (DuckDB)", "spark": "the platform's Spark cluster, for national volumes"}


# every field a form may hold: the elements above, and those some answers call for
OPTIONAL = {"pseudonymisation_justification": "67(2)(e) why anonymised data will not do",
            "gdpr_compliance": "67(4) the GDPR legal basis", "duration_months": "67(2)(h) duration",
            "access_period": "GOV-03 a public body's access period", "engine": "67(2)(i) the computing engine",
            "output_policy": "the project's output checking (approvals, threshold)"}
FIELDS = {**REQUIRED, **OPTIONAL}
ALLOWED_CONTROLS = {"\n", "\r", "\t"}


def check_fields(form: dict) -> None:
    """Only the form's fields, and text a person could have typed: no control characters, no lone
    surrogates (neither encodes as UTF-8, and both break every export of the form)."""
    unknown = sorted(str(k) for k in form if k not in FIELDS)
    if unknown:
        raise InvalidInput(f"the application form has no field {', '.join(repr(k) for k in unknown)}: its fields are "
                           f"{', '.join(sorted(FIELDS))}", details={"field": unknown[0], "unknown": unknown},
                           code="unknown_field")
    for key, value in form.items():
        check_text(key, value)


def check_text(field: str, value) -> None:
    if not _typed_text(value):
        raise InvalidInput(f"{field} holds a character no one types (a control character or a lone surrogate)",
                           details={"field": field}, code="untyped_character")


def _typed_text(value) -> bool:
    if isinstance(value, str):
        return not any(ord(c) < 32 and c not in ALLOWED_CONTROLS or 0xD800 <= ord(c) <= 0xDFFF or ord(c) == 0x7F
                       for c in value)
    if isinstance(value, dict):
        return all(_typed_text(k) and _typed_text(v) for k, v in value.items())
    if isinstance(value, list):
        return all(_typed_text(v) for v in value)
    return True


def missing_fields(form: dict, *, sector: str) -> list[str]:
    missing = [f for f in REQUIRED if form.get(f) in (None, "", [])
               and not (f == "brought_datasets" and form.get(f) == [])]
    data = form.get("data") or {}
    if isinstance(data, dict) and data:
        missing += [f"data.{k}" for k in DATA_REQUIRED if not data.get(k)]
    if form.get("pseudonymised") is True:
        missing += [f for f in ("pseudonymisation_justification", "gdpr_compliance") if not form.get(f)]  # 67(2)(e), 67(4)
    period = "access_period" if sector == "public" else None  # GOV-03: public bodies may give a period instead
    if not form.get("duration_months") and not (period and form.get(period)):
        missing.append("duration_months")
    return missing


def check_submission(form: dict, *, sector: str) -> None:
    missing = missing_fields(form, sector=sector)
    if missing:
        raise InvalidInput(f"the application lacks: {', '.join(missing)}", details={"missing": missing},
                           code="application_incomplete")
    purpose = str(form["purpose"]).lower()
    if purpose not in PURPOSES:
        raise InvalidInput(f"purpose must be one of Art. 53(1) (a)–(f), not {form['purpose']!r}",
                           details={"field": "purpose"}, code="purpose_unknown")
    if purpose in PUBLIC_ONLY and sector != "public":
        raise InvalidInput(f"purpose ({purpose}) is open to public-sector bodies only (EHDS Art. 53(2))",
                           details={"field": "purpose"}, code="purpose_not_allowed")
    months = form.get("duration_months")
    if months is not None and not (isinstance(months, int) and 1 <= months <= 120):
        raise InvalidInput("duration_months must be a whole number of months from 1 to 120 (10 years)",
                           details={"field": "duration_months"}, code="duration_range")
    check_engine(form)


def check_engine(form: dict) -> None:
    if form.get("engine") not in (None, "", *ENGINES):
        raise InvalidInput(f"engine is one of {', '.join(ENGINES)} (or empty for the platform's), "
                           f"not {form['engine']!r}", details={"field": "engine"}, code="engine_unknown")

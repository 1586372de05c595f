"""The pages' forms: the application form between HTML fields (flat strings) and the Art. 67 form
(structured), the scope builder's ticks, and the other forms read as pydantic models (`read_form`)."""

from __future__ import annotations

from typing import TypeVar, get_origin

from pydantic import BaseModel, ValidationError

from bastide.errors import DomainError, InvalidInput
from bastide.ids import MAX_ID

M = TypeVar("M", bound=BaseModel)

# The application form's fields as the page shows them, in order: (name, kind). Each one's label is
# the message `field_<name>` of the catalogues (bastide/locale).
FORM_FIELDS: list[tuple[str, str]] = [
    ("persons", "lines"),
    ("functions", "text"),
    ("purpose", "purpose"),
    ("use", "area"),
    ("snapshot", "snapshot"),
    ("tables", "words"),
    ("columns", "columns"),
    ("years", "years"),
    ("icd10", "words"),
    ("atc", "words"),
    ("ccam", "words"),
    ("sex", "sex"),
    ("age_min", "int"),
    ("age_max", "int"),
    ("combine", "combine"),
    ("identifiers", "words"),
    ("pseudonymised", "bool"),
    ("pseudonymisation_justification", "area"),
    ("gdpr_compliance", "text"),
    ("brought_datasets", "words"),
    ("safeguards", "area"),
    ("tools", "text"),
    ("engine", "engine"),
    ("ethics", "text"),
    ("optout_exception", "text"),
    ("duration_months", "int"),
]

DATA_KEYS = ("snapshot", "tables", "columns", "years", "identifiers")
POPULATION_KEYS = ("icd10", "atc", "ccam", "sex", "age_min", "age_max", "combine")
SEXES = ("1", "2")  # IR_SEX_V: 1 male, 2 female
COMBINE = ("all", "any")


def _parse(name: str, kind: str, raw: str):
    raw = raw.strip()
    if kind == "lines":
        return [line.strip() for line in raw.splitlines() if line.strip()]
    if kind in ("words", "columns"):
        return raw.replace(",", " ").split()
    if kind == "years":
        try:
            return [int(y) for y in raw.replace(",", " ").split()]
        except ValueError:
            raise InvalidInput("years are written as 2023 2024", details={"field": name}, code="years_format") from None
    if kind == "int":
        if not raw:
            return None
        if not raw.isdigit():
            raise InvalidInput(f"{name} is a whole number", details={"field": name}, code="whole_number")
        return int(raw)
    if kind == "sex":  # one sex, or both (no criterion)
        if raw and raw not in SEXES:
            raise InvalidInput("sex is 1 (male) or 2 (female), or empty for both", details={"field": name}, code="sex_value")
        return [int(raw)] if raw else []
    if kind == "combine":  # "all" is the default: kept only when it is not
        return "any" if raw == "any" else None
    if kind == "bool":
        return {"oui": True, "yes": True, "non": False, "no": False}.get(raw.lower())
    return raw


def form_from_fields(fields: dict[str, str]) -> dict:
    """Only the fields the page sent are changed (a partial draft stays partial)."""
    flat = {name: _parse(name, kind, fields[name]) for name, kind in FORM_FIELDS if name in fields}
    form = {k: v for k, v in flat.items() if k not in DATA_KEYS and k not in POPULATION_KEYS}
    data = {k: flat[k] for k in DATA_KEYS if k in flat}
    population = {k: flat[k] for k in POPULATION_KEYS if flat.get(k) not in (None, "", [])}
    if data or population:
        form["data"] = {**data, "population": population}
    return form


def on_page(evidence: dict[str, tuple[str, ...]]) -> dict[str, list[str]]:
    """Each item's fields of the stored form as the page names them: `data` is the page's scope
    fields; a field the page does not show (a public body's access period) is left out."""
    shown = dict(FORM_FIELDS)
    scope = [*DATA_KEYS, *POPULATION_KEYS]
    return {item: [n for name in names for n in (scope if name == "data" else [name]) if n in shown]
            for item, names in evidence.items()}


def fields_from_form(form: dict) -> dict[str, str]:
    """The page's values for a stored form."""
    data = form.get("data") or {}
    flat = {**form, **data, **(data.get("population") or {})}
    out = {}
    for name, kind in FORM_FIELDS:
        value = flat.get(name)
        if value is None:
            out[name] = ""
        elif kind == "lines":
            out[name] = "\n".join(value)
        elif isinstance(value, dict):  # each table's own variables (the scope builder's)
            out[name] = " · ".join(f"{table}: {' '.join(names)}" for table, names in value.items())
        elif kind == "sex":
            out[name] = str(value[0]) if isinstance(value, list) and len(value) == 1 else ""
        elif isinstance(value, list):
            out[name] = " ".join(str(v) for v in value)
        elif kind == "bool":
            out[name] = "yes" if value else "no"
        else:
            out[name] = str(value)
    return out


SCOPE = "scope"  # sent by the scope builder: its tables and variables replace the typed ones


def scope_from_form(fields) -> dict | None:
    """The tables and each table's variables ticked in the scope builder (issue 18, item 2), or
    None when the page had no builder (no release chosen yet): a table with no variable ticked
    keeps every column."""
    if fields.get(SCOPE) != "1":
        return None
    tables = list(dict.fromkeys(str(t) for t in fields.getlist("scope_table")))
    columns = {t: sorted({str(v) for v in fields.getlist(f"scope_var:{t}")}) for t in tables}
    return {"tables": tables, "columns": {t: names for t, names in columns.items() if names}}


def form_id(fields, name: str) -> int | None:
    """An id a page's form names (a select or hidden field), or None when left empty; anything
    else, a huge number included, is a clear error (int() of it used to be a 500)."""
    raw = str(fields.get(name) or "").strip()
    if not raw:
        return None
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_ID:
        raise InvalidInput(f"{name} names nothing: choose it from the list", details={"field": name},
                           code="choose_from_list")
    return int(raw)


def invalid_fields(error) -> dict[str, DomainError | None]:
    """The form's fields a domain error is about (name -> the error the page words beside it): the
    field it names (`data.tables` is the page's `tables`), or each missing one (None: GOV-01)."""
    if error is None:
        return {}
    details = getattr(error, "details", {}) or {}
    named = {str(details["field"]).rsplit(".", 1)[-1]: error} if details.get("field") else {}
    return {**{str(m).rsplit(".", 1)[-1]: None for m in details.get("missing", [])}, **named}


# what a page says of a value its form's model refuses, by pydantic's error type: (code, English)
REFUSED = {"date_from_datetime_parsing": ("form_date", "write {field} as YYYY-MM-DD"),
           "date_parsing": ("form_date", "write {field} as YYYY-MM-DD"),
           "date_type": ("form_date", "write {field} as YYYY-MM-DD"),
           "int_parsing": ("whole_number", "{field} is a whole number"),
           "int_from_float": ("whole_number", "{field} is a whole number"),
           "float_parsing": ("form_number", "{field} is a number"),
           "greater_than_equal": ("form_too_small", "{field} is too small"),
           "less_than_equal": ("form_too_large", "{field} is too large"),
           "missing": ("form_missing", "{field} is missing"), "string_too_long": ("form_too_long", "{field} is too long")}


def read_form(model: type[M], fields) -> M:
    """A page's form read as its pydantic model (issue 18, item 12): each field as sent, a list
    where the model wants one. A value the model refuses is an InvalidInput naming its field, so
    the page shows it beside the field as it shows a domain error (never a JSON 422)."""
    lists = {name for name, info in model.model_fields.items() if get_origin(info.annotation) is list}
    data = {name: fields.getlist(name) if name in lists else str(value) for name, value in fields.items()
            if name != "csrf_token"}
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        error = exc.errors()[0]
        field = ".".join(str(p) for p in error["loc"]) or "form"
        code, said = REFUSED.get(error["type"], ("form_refused", "{field}: " + error["msg"]))
        raise InvalidInput(said.format(field=field), details={"field": field}, code=code) from None

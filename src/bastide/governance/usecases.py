"""What a person asks of governance through either face, the API or the pages (issue 18, item 12):
each function takes the session first, checks who may, and returns the domain's records."""

from __future__ import annotations

from sqlalchemy.orm import Session

from bastide.errors import InvalidInput, NotFound, not_among
from bastide.governance import permits, scope
from bastide.governance import service as gov
from bastide.governance.models import Application, Permit
from bastide.identity.policy import Forbidden, has_permission
from bastide.identity.roles import Permission
from bastide.keys.signing import Signer
from bastide.statemachine import Actor


def readable_application(session: Session, actor: Actor, app_id: int) -> Application:
    app = gov.get_application(session, app_id)
    gov.check_can_read(actor, app)
    return app


def move(session: Session, *, actor: Actor, app: Application, action: str, signer: Signer,
         justification: str | None = None) -> None:
    """Move the application along the GOV-08 table (docs/workflows.md); `grant` also issues the permit."""
    if action == "grant":
        permits.grant(session, actor=actor, app=app, signer=signer)
    else:
        gov.act(session, actor=actor, app=app, action=action, justification=justification)


def readable_permit(session: Session, actor: Actor, permit_id: int) -> Permit:
    """The access body reads every permit; an applicant, their own."""
    permit = permits.get_permit(session, permit_id)
    if not has_permission(actor, Permission.APPLICATION_REVIEW) and actor.id != f"user:{permit.application.applicant.email}":
        raise Forbidden(f"{permit.reference} is not yours to see")
    return permit


def add_to_scope(session: Session, *, actor: Actor, app: Application, snapshot, table: str,
                 variables: list[str]) -> Application:
    """The dictionary's "add to my application" (issue 18, item 1): `table`, with the variables
    ticked, joins the application's data scope; the release is set if the application names none
    yet. One list of variables for every table (the older form) becomes each table's own."""
    data = dict(app.form.get("data") or {})
    ref = data.get("snapshot") or snapshot.ref
    if ref != snapshot.ref:
        raise InvalidInput(f"{app.reference} asks for {ref} and {table} is a table of {snapshot.ref}: an application "
                           "asks for one release", code="one_release",
                           details={"field": "data.snapshot", "application": app.reference, "asked": ref,
                                    "table": table, "release": snapshot.ref})
    names = {t.name: {v.name for v in t.variables} for t in snapshot.tables}
    if table not in names:
        raise NotFound(f"{snapshot.ref} has no table {table}", details={"release": snapshot.ref, "tables": table},
                       words="scope_unknown_table")  # the scope builder's words for it
    unknown = sorted(set(variables) - names[table])
    if unknown:
        raise InvalidInput(f"{table} has no variable {', '.join(unknown)}",
                           details={"field": "data.columns", "table": table, "unknown": unknown},
                           code="no_such_variable")
    columns = data.get("columns") or {}
    if not isinstance(columns, dict):
        columns = {t: sorted(set(columns) & names.get(t, set())) for t in data.get("tables") or ()}
    columns = {**columns, table: sorted(set(columns.get(table) or ()) | set(variables))}
    data.update(snapshot=ref, tables=list(dict.fromkeys([*(data.get("tables") or ()), table])),
                columns={t: v for t, v in columns.items() if v})
    return gov.update_form(session, actor=actor, app=app, changes={"data": data})


def add_codes(session: Session, *, actor: Actor, app: Application, criterion: str, codes: list[str]) -> Application:
    """The nomenclature browser's "add to my application": codes ticked there join one of the
    population's criteria (ICD-10 diagnoses, CCAM acts), after those already asked."""
    if criterion not in scope.PICKED:
        raise not_among("criterion", scope.PICKED)
    wanted = [c.strip().upper().replace(".", "") for c in codes if c.strip()]
    if not wanted:
        raise InvalidInput("tick the codes to add", details={"field": "code"}, code="codes_unticked")
    if any(not c.isascii() or not c.isalnum() or len(c) > 16 for c in wanted):  # they become SQL literals
        raise InvalidInput("a code is letters and digits (E11, AHQP001)", details={"field": "code"}, code="code_format")
    data = dict(app.form.get("data") or {})
    population = dict(data.get("population") or {})
    population[criterion] = list(dict.fromkeys([*(population.get(criterion) or []), *wanted]))
    data["population"] = population
    return gov.update_form(session, actor=actor, app=app, changes={"data": data})

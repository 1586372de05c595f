"""The public register (TRA-01…TRA-05, TRA-08, GOV-13): every application from its receipt, each
decision with its justification, each permit with holder, purpose, datasets and dates.

Built from an allow-list of fields: names of persons, e-mails, safeguards and assessment notes
are never in it, whatever is added to the form later."""

from __future__ import annotations

import csv
import io

from sqlalchemy import select
from sqlalchemy.orm import Session

from bastide.governance.form import PURPOSES
from bastide.governance.models import Application, Permit
from bastide.identity.models import Organisation

FIELDS = ["reference", "title", "organisation", "sector", "procedure", "purpose", "use", "datasets", "tables",
          "call", "received_on", "status", "decision", "decided_on", "justification", "ethics_opinion",
          "cnil_reference", "permit", "permit_status", "valid_from", "valid_until"]


def _day(moment) -> str | None:
    return moment.date().isoformat() if moment else None


def _entry(app, org, permit) -> dict:
    form = app.form or {}
    data = form.get("data") or {}
    ethics, cnil = app.ethics_opinion or {}, app.cnil_decision or {}
    return {
        "reference": f"APP-{app.id:06d}", "title": app.title, "organisation": org.name, "sector": org.sector,
        "procedure": app.procedure, "purpose": PURPOSES.get(str(form.get("purpose", "")).lower()),
        "use": form.get("use"), "datasets": data.get("snapshot"), "tables": " ".join(data.get("tables") or []),
        "call": app.call_id, "received_on": _day(app.submitted_at), "status": app.status, "decision": app.decision,
        "decided_on": _day(app.decided_at),
        "justification": app.justification if app.decision == "refused" else None,  # GOV-12: refusals are explained
        "ethics_opinion": f"{ethics['date']} {ethics['outcome']}" if ethics else None,
        "cnil_reference": cnil.get("reference"),
        "permit": f"PRM-{permit.id:06d}-v{permit.version}" if permit else None,
        "permit_status": permit.status if permit else None,
        "valid_from": _day(permit.valid_from) if permit else None,
        "valid_until": _day(permit.valid_until) if permit else None,
    }


_APP = (Application.id, Application.title, Application.procedure, Application.form, Application.call_id,
        Application.submitted_at, Application.status, Application.decision, Application.decided_at,
        Application.justification, Application.ethics_opinion, Application.cnil_decision)


def entries(session: Session) -> list[dict]:
    """Plain rows, not ORM objects: the register is read often and whole (one query each)."""
    apps = session.execute(
        select(*_APP, Organisation.name, Organisation.sector).join(Organisation)
        .where(Application.submitted_at.is_not(None))
        .order_by(Application.submitted_at.desc(), Application.id.desc())).all()
    latest = {}
    for permit in session.execute(select(Permit.application_id, Permit.id, Permit.version, Permit.status,
                                         Permit.valid_from, Permit.valid_until).order_by(Permit.id)):
        latest[permit.application_id] = permit  # the newest version stands for the permit
    return [_entry(row, row, latest.get(row.id)) for row in apps]


# a cell a spreadsheet would read as a formula (OWASP "CSV injection"): an applicant's title such
# as =HYPERLINK(…) or +cmd|… would run in the reader's spreadsheet (issue 14)
FORMULA = ("=", "+", "-", "@", "\t", "\r")


def _cell(value):
    """A value as a spreadsheet shows it and never evaluates it: a leading quote before a formula."""
    return f"'{value}" if isinstance(value, str) and value.startswith(FORMULA) else value


def to_csv(rows: list[dict]) -> str:
    out = io.StringIO()
    # CRLF, as RFC 4180 writes it: the writer then quotes a field holding a bare CR too, which with
    # "\n" alone it left unquoted, splitting the record wherever a reader saw a line end
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(FIELDS)
    writer.writerows([_cell(row[f]) for f in FIELDS] for row in rows)
    return out.getvalue()

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

FIELDS = ["reference", "title", "organisation", "sector", "procedure", "purpose", "use", "datasets", "tables",
          "call", "received_on", "status", "decision", "decided_on", "justification", "ethics_opinion",
          "cnil_reference", "permit", "permit_status", "valid_from", "valid_until"]


def _day(moment) -> str | None:
    return moment.date().isoformat() if moment else None


def _entry(app: Application, permit: Permit | None) -> dict:
    form, data = app.form, app.form.get("data") or {}
    ethics, cnil = app.ethics_opinion or {}, app.cnil_decision or {}
    return {
        "reference": app.reference, "title": app.title, "organisation": app.organisation.name,
        "sector": app.organisation.sector, "procedure": app.procedure,
        "purpose": PURPOSES.get(str(form.get("purpose", "")).lower()), "use": form.get("use"),
        "datasets": data.get("snapshot"), "tables": " ".join(data.get("tables") or []), "call": app.call_id,
        "received_on": _day(app.submitted_at), "status": app.status, "decision": app.decision,
        "decided_on": _day(app.decided_at),
        "justification": app.justification if app.decision == "refused" else None,  # GOV-12: refusals are explained
        "ethics_opinion": f"{ethics['date']} {ethics['outcome']}" if ethics else None,
        "cnil_reference": cnil.get("reference"),
        "permit": permit.reference if permit else None, "permit_status": permit.status if permit else None,
        "valid_from": _day(permit.valid_from) if permit else None,
        "valid_until": _day(permit.valid_until) if permit else None,
    }


def entries(session: Session) -> list[dict]:
    apps = session.execute(select(Application).where(Application.submitted_at.is_not(None))
                           .order_by(Application.submitted_at.desc(), Application.id.desc())).scalars().all()
    latest: dict[int, Permit] = {}
    for permit in session.execute(select(Permit).order_by(Permit.id)).scalars():
        latest[permit.application_id] = permit  # the newest version stands for the permit
    return [_entry(app, latest.get(app.id)) for app in apps]


def to_csv(rows: list[dict]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=FIELDS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()

"""Granting issues a signed data permit; anyone with the public key verifies it offline."""

from __future__ import annotations

import base64
import json
from datetime import datetime

from sqlalchemy.orm import Session

from bastide.audit.actions import AuditAction
from bastide.audit.service import record
from bastide.catalogue import service as catalogue
from bastide.db import utcnow
from bastide.errors import InvalidInput, NotFound
from bastide.governance.deadlines import add_months
from bastide.governance.form import PURPOSES
from bastide.governance.models import Application, Permit
from bastide.governance.service import act
from bastide.keys.signing import Signer, signature_valid
from bastide.statemachine import Actor

FORMAT = "bastide-permit/1"
MAX_MONTHS = 120  # EHDS Art. 68(12): at most 10 years


def canonical(document: dict) -> bytes:
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def grant(session: Session, *, actor: Actor, app: Application, signer: Signer, now: datetime | None = None) -> Permit:
    """Decide to grant, and issue the permit in the same transaction."""
    now = now or utcnow()
    months = app.form.get("duration_months") or 12
    if not isinstance(months, int) or not 1 <= months <= MAX_MONTHS:
        raise InvalidInput(f"a permit lasts at most {MAX_MONTHS} months (10 years)", details={"field": "duration_months"})
    act(session, actor=actor, app=app, action="grant", now=now)
    permit = Permit(application=app, version=1, status="active", valid_from=now, valid_until=add_months(now, months),
                    document="", signature="", created_at=now)
    session.add(permit)
    session.flush()
    body = canonical(_document(session, app, permit, now))
    permit.document = body.decode()
    permit.signature = base64.b64encode(signer.sign(body)).decode()
    record(session, actor=actor, action=AuditAction.PERMIT_ISSUE, target=f"permit:{permit.reference}",
           details={"application": app.reference, "valid_until": permit.valid_until.isoformat()})
    return permit


def _document(session: Session, app: Application, permit: Permit, now: datetime) -> dict:
    form = app.form
    snapshot = catalogue.get_snapshot(session, form["data"]["snapshot"])
    return {
        "format": FORMAT,
        "permit": permit.reference,
        "application": app.reference,
        "issued_at": now.isoformat(),
        "holder": {"organisation": app.organisation.name, "sector": app.organisation.sector},
        "principal_investigator": app.applicant.email,  # 68(10)(d)
        "persons": sorted(form["persons"]),
        "purpose": {"article_53": form["purpose"], "label": PURPOSES[form["purpose"]], "use": form["use"]},  # (b)
        "data": {**form["data"], "merkle_root": snapshot.merkle_root,  # (a): the snapshot pinned to its content
                 "pseudonymised": bool(form["pseudonymised"])},
        "optout_exception": form["optout_exception"],  # (c)
        "valid_from": permit.valid_from.isoformat(), "valid_until": permit.valid_until.isoformat(),  # (e)
        "environment": form["tools"],  # (f)
        "procedure": app.procedure,
        "opinions": {"ethics": app.ethics_opinion, "cnil": app.cnil_decision},
    }


def get_permit(session: Session, permit_id: int) -> Permit:
    permit = session.get(Permit, permit_id)
    if permit is None:
        raise NotFound(f"no permit {permit_id}")
    return permit


def export(permit: Permit, public_pem: str) -> str:
    """The file a holder receives: the signed document, its signature and the key to check it."""
    return json.dumps({"document": json.loads(permit.document), "signature": permit.signature,
                       "public_key": public_pem}, indent=2, ensure_ascii=False) + "\n"


def verify_file(text: str, *, public_pem: str) -> dict:
    """The permit document if its signature holds under `public_pem`; raises otherwise."""
    try:
        data = json.loads(text)
        body, signature = canonical(data["document"]), base64.b64decode(data["signature"])
    except (ValueError, KeyError, TypeError) as exc:
        raise InvalidInput(f"not a Bastide permit file: {exc}") from exc
    if data["document"].get("format") != FORMAT or not signature_valid(public_pem, body, signature):
        raise InvalidInput("the permit's signature does not match its content: it was altered or not issued by "
                           "this platform", code="permit_invalid")
    return data["document"]

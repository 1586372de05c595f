"""Granting issues a signed data permit; anyone with the public key verifies it offline."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from sqlalchemy import select

from sqlalchemy.orm import Session

from bastide.audit.actions import AuditAction
from bastide.audit.service import history as audit_history
from bastide.audit.service import record
from bastide.catalogue import service as catalogue
from bastide.db import utcnow
from bastide.errors import InvalidInput, NotFound
from bastide.governance.deadlines import add_months
from bastide.governance.form import PURPOSES, check_engine
from bastide.governance.models import Application, Permit
from bastide.governance.service import act
from bastide.governance.workflow import PERMIT_WORKFLOW
from bastide.keys.signing import BadSignature, Signer, document_file, sign_document, verify_document
from bastide.identity.models import User
from bastide.statemachine import SYSTEM, Actor
from bastide.transitions import apply

FORMAT = "bastide-permit/1"
MAX_MONTHS = 120  # EHDS Art. 68(12): at most 10 years


def _check_months(months) -> int:
    if not isinstance(months, int) or not 1 <= months <= MAX_MONTHS:
        raise InvalidInput(f"a permit lasts at most {MAX_MONTHS} months (10 years)",
                           details={"field": "duration_months"}, code="duration_range")
    return months


def grant(session: Session, *, actor: Actor, app: Application, signer: Signer, now: datetime | None = None) -> Permit:
    """Decide to grant, and issue the permit in the same transaction."""
    now = now or utcnow()
    months = _check_months(app.form.get("duration_months") or 12)
    act(session, actor=actor, app=app, action="grant", now=now)
    permit = _issue(session, signer, app=app, form=app.form, version=1, valid_from=now,
                    valid_until=add_months(now, months), optout_as_of=now, now=now)
    record(session, actor=actor, action=AuditAction.PERMIT_ISSUE, target=target(permit),
           details={"application": app.reference, "valid_until": permit.valid_until.isoformat()})
    return permit


def target(permit: Permit) -> str:
    return f"permit:{permit.reference}"


def _issue(session: Session, signer: Signer, *, app: Application, form: dict, version: int, valid_from: datetime,
           valid_until: datetime, optout_as_of: datetime, now: datetime, supersedes: Permit | None = None,
           extended: bool = False) -> Permit:
    """Write a permit version and sign its canonical document."""
    permit = Permit(application=app, version=version, status=PERMIT_WORKFLOW.initial, valid_from=valid_from,
                    valid_until=valid_until, optout_as_of=optout_as_of, supersedes_id=supersedes.id if supersedes else None,
                    extended=extended, terms=dict(form), document="", signature="", created_at=now)
    session.add(permit)
    session.flush()
    body, permit.signature = sign_document(signer, _document(session, app, form, permit, now))
    permit.document = body.decode()
    return permit


def _document(session: Session, app: Application, form: dict, permit: Permit, now: datetime) -> dict:
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
        "optout_as_of": permit.optout_as_of.isoformat(),  # GOV-16: who objected by then is excluded
        "version": permit.version,
        "supersedes": f"PRM-{permit.supersedes_id:06d}" if permit.supersedes_id else None,
        "valid_from": permit.valid_from.isoformat(), "valid_until": permit.valid_until.isoformat(),  # (e)
        "environment": form["tools"],  # (f)
        **({"engine": form["engine"]} if form.get("engine") else {}),  # (f) the cluster, when the project needs it
        "procedure": app.procedure,
        "opinions": {"ethics": app.ethics_opinion, "cnil": app.cnil_decision},
        # the access body's output-checking policy for this project, when it departs from the platform's
        **({"outputs": _output_policy(form["output_policy"])} if form.get("output_policy") else {}),
    }


def _output_policy(policy) -> dict:
    """Approvals each released file needs (1 to 5) and the fewest persons a cell may count (≥ 2)."""
    ok = isinstance(policy, dict) and set(policy) <= {"approvals", "threshold"} and all(
        isinstance(v, int) and not isinstance(v, bool) for v in policy.values())
    if not ok or not 1 <= policy.get("approvals", 2) <= 5 or policy.get("threshold", 10) < 2:
        raise InvalidInput("output_policy is {\"approvals\": 1 to 5, \"threshold\": 2 or more}",
                           details={"field": "output_policy"}, code="output_policy")
    return dict(policy)


def get_permit(session: Session, permit_id: int) -> Permit:
    permit = session.get(Permit, permit_id)
    if permit is None:
        raise NotFound(f"no permit {permit_id}")
    return permit


def export(permit: Permit, public_pem: str) -> str:
    """The file a holder receives: the signed document, its signature and the key to check it."""
    return document_file(json.loads(permit.document), permit.signature, public_pem)


def verify_file(text: str, *, public_pem: str) -> dict:
    """The permit document if its signature holds under `public_pem`; raises otherwise."""
    try:
        return verify_document(text, public_pem=public_pem, format=FORMAT)
    except BadSignature as exc:
        if str(exc).startswith("not a signed"):
            raise InvalidInput(f"not a Bastide permit file: {exc}", code="permit_invalid") from None
        raise InvalidInput(f"the permit's {exc}", code="permit_invalid") from None


# -- lifecycle (GOV-11, GOV-15) --------------------------------------------------------------

EXTENSION_NOTICE_DAYS = 30  # an extension is asked for at least a month before the end (GOV-11)


def _move(session: Session, *, actor: Actor, permit: Permit, action: str, reason: str, now: datetime,
          details: dict | None = None) -> None:
    PERMIT_WORKFLOW.check(permit.status, action, actor)  # a move that cannot happen is said before a missing reason
    if not reason.strip():
        raise InvalidInput(f"say why (the reason is kept with the permit): {action}", details={"field": "reason"},
                           code="reason_required")
    apply(session, PERMIT_WORKFLOW, permit, action=action, actor=actor, target=target(permit),
          details={"reason": reason.strip(), **(details or {})})
    permit.status_reason, permit.ended_at = reason.strip(), now


def amend(session: Session, *, actor: Actor, permit: Permit, signer: Signer, changes: dict, reason: str,
          now: datetime | None = None) -> Permit:
    """A new version with changed terms (persons, scope, environment…); the old one is archived.
    Opt-outs are still counted from the first grant: an amendment is not a new permit."""
    now = now or utcnow()
    form = {**permit.terms, **changes}
    _check_months(form.get("duration_months") or 12)
    check_engine(form)
    if form.get("output_policy"):
        _output_policy(form["output_policy"])  # checked before anything changes
    _move(session, actor=actor, permit=permit, action="amend", reason=reason, now=now, details={"fields": sorted(changes)})
    new = _issue(session, signer, app=permit.application, form=form, version=permit.version + 1, valid_from=now,
                 valid_until=permit.valid_until, optout_as_of=permit.optout_as_of, now=now, supersedes=permit,
                 extended=permit.extended)
    record(session, actor=actor, action=AuditAction.PERMIT_ISSUE, target=target(new),
           details={"supersedes": permit.reference, "reason": reason.strip()})
    return new


def extend(session: Session, *, actor: Actor, permit: Permit, signer: Signer, months: int, reason: str,
           now: datetime | None = None) -> Permit:
    """The single extension (Art. 68(12)): asked at least a month before the end, total ≤ 10 years."""
    now = now or utcnow()
    if permit.extended:
        raise InvalidInput(f"{permit.reference} was already extended once: a new application is needed",
                           code="already_extended")
    if permit.valid_until - now < timedelta(days=EXTENSION_NOTICE_DAYS):
        raise InvalidInput(f"an extension is asked for at least {EXTENSION_NOTICE_DAYS} days before the permit ends "
                           f"({permit.valid_until.date()})", code="extension_too_late",
                           details={"days": EXTENSION_NOTICE_DAYS, "until": str(permit.valid_until.date())})
    first = _first_version(session, permit)
    # months are checked before the date is computed: a huge number overflowed the calendar (a 500)
    until = add_months(permit.valid_until, months) if 1 <= months <= MAX_MONTHS else None
    if until is None or until > add_months(first.valid_from, MAX_MONTHS):
        raise InvalidInput(f"a permit lasts at most {MAX_MONTHS} months (10 years) in all, extension included",
                           details={"field": "months"}, code="permit_too_long")
    _move(session, actor=actor, permit=permit, action="extend", reason=reason, now=now, details={"months": months})
    new = _issue(session, signer, app=permit.application, form=permit.terms, version=permit.version + 1, valid_from=now, valid_until=until, optout_as_of=permit.optout_as_of,
                 now=now, supersedes=permit, extended=True)
    record(session, actor=actor, action=AuditAction.PERMIT_ISSUE, target=target(new),
           details={"supersedes": permit.reference, "valid_until": until.isoformat()})
    return new


def _first_version(session: Session, permit: Permit) -> Permit:
    while permit.supersedes_id is not None:
        permit = session.get(Permit, permit.supersedes_id)
    return permit


def revoke(session: Session, *, actor: Actor, permit: Permit, reason: str, now: datetime | None = None) -> Permit:
    """GOV-15: ends access at once; the workspaces act on the `permit:revoke` event."""
    _move(session, actor=actor, permit=permit, action="revoke", reason=reason, now=now or utcnow())
    return permit


def expire_due(session: Session, *, now: datetime | None = None) -> list[Permit]:
    """The scheduled check: active permits past their end date become expired."""
    now = now or utcnow()
    due = session.execute(select(Permit).where(Permit.status == "active", Permit.valid_until <= now)).scalars().all()
    for permit in due:
        _move(session, actor=SYSTEM, permit=permit, action="expire", reason="end of validity", now=now)
    return list(due)


def list_permits(session: Session, *, holder: User | None = None) -> list[Permit]:
    query = select(Permit).order_by(Permit.id)
    if holder is not None:
        query = query.join(Application).where(Application.applicant_id == holder.id)
    return list(session.execute(query).scalars())


def of_application(session: Session, app: Application) -> list[Permit]:
    return list(session.execute(select(Permit).where(Permit.application_id == app.id).order_by(Permit.id)).scalars())


def history(session: Session, app: Application) -> list:
    """The application's events and those of each of its permit versions, oldest first (AUD-11)."""
    return audit_history(session, targets=[f"application:{app.reference}", *(target(p) for p in of_application(session, app))])

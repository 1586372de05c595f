"""What a person asks of governance through either face, the API or the pages (issue 18, item 12):
each function takes the session first, checks who may, and returns the domain's records."""

from __future__ import annotations

from sqlalchemy.orm import Session

from bastide.governance import permits
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


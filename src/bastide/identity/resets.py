"""Resetting a person's password or second factor without handing the account to the
administrator who does it (issue 13, "Why" 8; IAM-03, IAM-07).

Before, `reset-mfa` gave the administrator an activation link that set the person's password
and authenticator: they signed in as her and queried her workspace, and her API tokens went on
working. Now a reset
- ends every session and API token of the person at once;
- sends its link to the person only (notify.py), never to the administrator;
- and the link alone opens nothing: a lost **authenticator** (`mfa`) is replaced only with the
  person's current password; a lost **password** (`password`) only with a current code of her
  authenticator (or a recovery code); losing **both** (`full`) needs a second administrator to
  approve the first one's request before any link exists.
The person is told by mail of each step, and each is audited."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from bastide import i18n
from bastide.audit.actions import AuditAction
from bastide.audit.service import record
from bastide.db import utcnow
from bastide.errors import Conflict, not_among
from bastide.identity import credentials
from bastide.identity.models import ApiToken, User, WebSession
from bastide.identity.policy import Forbidden, check_permission
from bastide.identity.roles import Permission
from bastide.notify import Mail, send
from bastide.statemachine import Actor

KINDS = ("mfa", "password", "full")  # what is reset: its words are the catalogues' reset_what_<kind>
APPROVAL_WINDOW = timedelta(days=2)


@dataclass(frozen=True)
class Reset:
    email: str
    kind: str
    pending: bool  # a full reset waits for a second administrator
    sent_to: str  # where the person's message went


def _target(user: User) -> str:
    return f"user:{user.email}"


def reset(session: Session, *, settings, actor: Actor, user: User, kind: str) -> Reset:
    """An administrator resets `kind` of `user`'s credentials (a full reset is only asked here)."""
    check_permission(actor, Permission.USER_MANAGE)
    if kind not in KINDS:
        raise not_among("kind", KINDS)
    if kind == "full":
        user.reset_requested_by, user.reset_requested_at = actor.id, utcnow()
        record(session, actor=actor, action=AuditAction.USER_RESET_REQUEST, target=_target(user),
               details={"kind": kind})
        where = _tell(settings, user, "reset_asked", kind, by=actor.id)
        return Reset(user.email, kind, True, where)
    return _apply(session, settings=settings, actor=actor, user=user, kind=kind)


def approve(session: Session, *, settings, actor: Actor, user: User) -> Reset:
    """A second administrator approves a full reset another one asked for."""
    check_permission(actor, Permission.USER_MANAGE)
    asked_by, asked_at = user.reset_requested_by, user.reset_requested_at
    if asked_by is None or asked_at is None or utcnow() - asked_at > APPROVAL_WINDOW:
        raise Conflict(f"no full reset of {user.email} waits for approval (one is asked with `reset --kind full`, "
                       f"and waits {APPROVAL_WINDOW.days} days)", code="no_reset_pending")
    if asked_by == actor.id:
        raise Forbidden("a second administrator approves a full reset, not the one who asked for it (IAM-07)")
    user.reset_requested_by, user.reset_requested_at = None, None
    return _apply(session, settings=settings, actor=actor, user=user, kind="full", asked_by=asked_by)


def _apply(session: Session, *, settings, actor: Actor, user: User, kind: str, asked_by: str | None = None) -> Reset:
    ended = end_access(session, user)
    if kind in ("mfa", "full"):
        user.mfa_secret_wrapped, user.mfa_confirmed, user.recovery_hashes = None, False, []
    if kind in ("password", "full"):
        user.password_hash = None
    secret = credentials.issue_activation(session, actor=actor, user=user, kind=kind)
    record(session, actor=actor, action=AuditAction.USER_RESET, target=_target(user),
           details={"kind": kind, "asked_by": asked_by or actor.id, "sessions_ended": ended[0], "tokens_revoked": ended[1]})
    link = credentials.activation_link(settings, secret)
    by = f"{asked_by} + {actor.id}" if asked_by else actor.id
    where = _tell(settings, user, "reset_done", kind, by=by, link=link)
    return Reset(user.email, kind, False, where)


def _tell(settings, user: User, message: str, kind: str, *, by: str, link: str = "") -> str:
    """The person's message, in French and English (the catalogues' mail_<message>_*)."""
    subject, body = i18n.mail(message, {"by": by, "at": f"{utcnow():%Y-%m-%d %H:%M}",
                                        "days": str(credentials.ACTIVATION_TTL.days)}, link,
                              coded={"what": f"reset_what_{kind}"})
    return send(settings, Mail(user.email, subject, body))


def end_access(session: Session, user: User) -> tuple[int, int]:
    """End every open session and revoke every API token of `user` (the caller audits it)."""
    now = utcnow()
    sessions = session.execute(select(WebSession).where(WebSession.user_id == user.id,
                                                        WebSession.ended_at.is_(None))).scalars().all()
    tokens = session.execute(select(ApiToken).where(ApiToken.user_id == user.id,
                                                    ApiToken.revoked_at.is_(None))).scalars().all()
    for web in sessions:
        web.ended_at = now
    for token in tokens:
        token.revoked_at = now
    return len(sessions), len(tokens)

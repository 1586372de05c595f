"""How a person proves who they are after login: activation links, web sessions, API tokens.

Each credential is a random secret given once; the database keeps only its SHA-256, so a
copy of the database opens nothing (IAM-05). Services never commit.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from bastide.audit.actions import AuditAction
from bastide.audit.service import record
from bastide.db import utcnow
from bastide.errors import Conflict, InvalidInput, NotFound
from bastide.identity import service as identity
from bastide.identity import throttle
from bastide.identity.models import ApiToken, User, WebSession
from bastide.identity.policy import check_permission
from bastide.identity.roles import Permission, permissions_of
from bastide.keys.base import KeyManager
from bastide.statemachine import Actor

ACTIVATION_TTL = timedelta(days=7)
SESSION_IDLE = timedelta(minutes=30)  # a forgotten browser closes itself
SESSION_MAX = timedelta(hours=10)  # one working day, whatever the activity
TOUCH_EVERY = timedelta(minutes=1)  # bookkeeping writes at most this often: reads stay reads
TOKEN_MAX_DAYS = 90
TOKEN_PREFIX = "bst_"


class NotAuthenticated(identity.AuthenticationFailed):
    code = "not_authenticated"


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def csrf_token(session_secret: str) -> str:
    """Derived from the session cookie, so it needs no storage and dies with the session."""
    return hashlib.sha256(f"csrf:{session_secret}".encode()).hexdigest()


# -- activation: set a password and enrol MFA through a one-time link ------------------------

ACTIVATIONS = ("account", "mfa", "password", "full")


def issue_activation(session: Session, *, actor: Actor, user: User, kind: str = "account",
                     now: datetime | None = None) -> str:
    """A one-time link: `account` (a new account, or one never activated) sets a password and
    enrols MFA; the resets' kinds (resets.py) ask for what the person still holds."""
    check_permission(actor, Permission.USER_MANAGE)
    if kind == "account" and user.password_hash and user.mfa_confirmed:
        raise Conflict(f"{user.email} is already active: a lost password or authenticator is reset "
                       "(`bastide users reset EMAIL --kind …`), which asks for what the person still holds",
                       code="already_active")
    secret = secrets.token_urlsafe(32)
    user.activation_hash, user.activation_expires_at = digest(secret), (now or utcnow()) + ACTIVATION_TTL
    user.activation_kind = kind
    record(session, actor=actor, action=AuditAction.USER_ACTIVATION, target=f"user:{user.email}",
           details={"expires_at": user.activation_expires_at.isoformat(), "kind": kind})
    return secret


def activation_link(settings, secret: str) -> str:
    """Where the person opens a link `issue_activation` gave (a new account's or a reset's)."""
    return f"{settings.public_url.rstrip('/')}/activate/{secret}"


def _activating(session: Session, secret: str, now: datetime) -> User:
    user = session.execute(select(User).where(User.activation_hash == digest(secret))).scalar_one_or_none()
    if user is None or user.activation_expires_at < now or user.disabled_at is not None:
        raise NotAuthenticated("this activation link is unknown, used or expired: ask an administrator for a new "
                               "one", code="activation_invalid")
    return user


def activation_kind(session: Session, secret: str, now: datetime | None = None) -> str:
    """What the link is for, so that its page asks for the right things."""
    return _activating(session, secret, now or utcnow()).activation_kind or "account"


def activate(session: Session, *, keys: KeyManager, secret: str, password: str = "", current_password: str = "",
             now: datetime | None = None) -> identity.Enrolment:
    """First step of a link that enrols MFA: a new password (a new account, a full reset), or
    the current one (a lost authenticator); the answer carries the TOTP URI and recovery codes."""
    now = now or utcnow()
    user = _activating(session, secret, now)
    kind = user.activation_kind or "account"
    if kind == "password":
        raise InvalidInput("this link sets a new password: give a current code of your authenticator app "
                           "(POST /api/auth/reset-password)", code="password_link")
    if kind == "mfa":
        if not identity.password_ok(user, current_password):
            raise _wrong_secret(session, user, now, "the current password is wrong")
    else:
        identity.set_password(session, actor=identity.actor_of(user), user=user, password=password)
    return identity.enrol_mfa(session, keys=keys, actor=identity.actor_of(user), user=user)


def reset_password(session: Session, *, keys: KeyManager, secret: str, code: str, password: str,
                   now: datetime | None = None) -> User:
    """A `password` link: a current code of the person's authenticator (or a recovery code) and a
    new password; the link is then spent."""
    now = now or utcnow()
    user = _activating(session, secret, now)
    if (user.activation_kind or "account") != "password":
        raise InvalidInput("this link does not reset a password: open it in a browser", code="wrong_link")
    if not identity.second_factor_ok(keys, user, code, now):
        raise _wrong_secret(session, user, now, "the code is wrong or was already used")
    identity.set_password(session, actor=identity.actor_of(user), user=user, password=password)
    user.activation_hash, user.activation_expires_at, user.activation_kind = None, None, None
    return user


def _wrong_secret(session: Session, user: User, now: datetime, message: str) -> identity.AuthenticationFailed:
    """A link tried with a wrong password or code (the caller then counts it: `link_failed`)."""
    throttle.check(session, throttle.keys(user.email, None), now)  # backing off, as a sign-in does
    return identity.AuthenticationFailed(message, code="link_secret_wrong")


def link_failed(session: Session, *, secret: str, policy: throttle.Policy, now: datetime | None = None) -> None:
    """Count a wrong password or code given with a link, as a failed sign-in of its account: a
    link cannot be used to guess them. Called in a transaction of its own, after the refusal."""
    now = now or utcnow()
    user = session.execute(select(User).where(User.activation_hash == digest(secret))).scalar_one_or_none()
    if user is None:
        return
    throttle.failed(session, throttle.keys(user.email, None), policy, now)
    record(session, actor=identity.actor_of(user), action=AuditAction.USER_LOGIN_FAILED, target=f"user:{user.email}",
           details={"with": "link"})


def confirm_activation(session: Session, *, keys: KeyManager, secret: str, code: str,
                       now: datetime | None = None) -> User:
    """Second step: a first code from the app proves the enrolment; the link is then spent."""
    now = now or utcnow()
    user = _activating(session, secret, now)
    if not user.password_hash:
        raise InvalidInput("choose a password first", details={"field": "password"}, code="password_first")
    identity.confirm_mfa(session, keys=keys, actor=identity.actor_of(user), user=user, code=code, now=now)
    user.activation_hash, user.activation_expires_at, user.activation_kind = None, None, None
    return user


# -- web sessions --------------------------------------------------------------------------

def open_session(session: Session, *, user: User, now: datetime | None = None) -> str:
    now = now or utcnow()
    secret = secrets.token_urlsafe(32)
    web = WebSession(token_hash=digest(secret), user=user, created_at=now, last_seen_at=now,
                     expires_at=now + SESSION_MAX)
    session.add(web)
    session.flush()
    record(session, actor=identity.actor_of(user), action=AuditAction.SESSION_OPEN, target=f"session:{web.id}")
    return secret


def resolve_session(session: Session, secret: str, now: datetime | None = None) -> WebSession:
    now = now or utcnow()
    web = session.execute(select(WebSession).where(WebSession.token_hash == digest(secret))).scalar_one_or_none()
    if web is None or web.ended_at is not None or now >= web.expires_at or now - web.last_seen_at >= SESSION_IDLE:
        raise NotAuthenticated("your session has ended: log in again")
    _check_account(web.user, now)
    if now - web.last_seen_at >= TOUCH_EVERY:
        web.last_seen_at = now  # bookkeeping, not an action: exempt from the audit rule (see models)
    return web


def close_session(session: Session, *, web: WebSession) -> None:
    web.ended_at = utcnow()
    record(session, actor=identity.actor_of(web.user), action=AuditAction.SESSION_CLOSE, target=f"session:{web.id}")


def _check_account(user: User, now: datetime) -> None:
    """A disabled, locked or expired account loses its open sessions and tokens at once (IAM-06)."""
    refusal = identity.refusal_of(user, now)
    if refusal is not None:
        raise refusal


# -- API tokens ----------------------------------------------------------------------------

def create_token(session: Session, *, user: User, name: str, scopes: list[str], days: int,
                 now: datetime | None = None) -> tuple[ApiToken, str]:
    """A token for scripts; its scopes are some of its owner's permissions, never more."""
    now = now or utcnow()
    if not name.strip():
        raise InvalidInput("name the token (what it is for)", details={"field": "name"}, code="token_name")
    if not 1 <= days <= TOKEN_MAX_DAYS:
        raise InvalidInput(f"a token lasts from 1 to {TOKEN_MAX_DAYS} days", code="token_days",
                           details={"field": "days", "max_days": TOKEN_MAX_DAYS})
    owned = {str(p) for p in permissions_of(frozenset(user.roles))}
    beyond = sorted(set(scopes) - owned)
    if not scopes or beyond:
        raise InvalidInput(f"scopes must be some of your permissions: {', '.join(sorted(owned)) or 'none'}",
                           details={"field": "scopes", "not_yours": beyond, "yours": sorted(owned)},
                           code="token_scopes")
    body = secrets.token_urlsafe(32)
    secret = f"{TOKEN_PREFIX}{body}"
    token = ApiToken(token_hash=digest(secret), prefix=secret[:12], name=name.strip(), user=user,
                     scopes=sorted(set(scopes)), created_at=now, expires_at=now + timedelta(days=days))
    session.add(token)
    session.flush()
    record(session, actor=identity.actor_of(user), action=AuditAction.TOKEN_CREATE, target=f"token:{token.id}",
           details={"name": token.name, "scopes": token.scopes, "expires_at": token.expires_at.isoformat()})
    return token, secret


def resolve_token(session: Session, secret: str, now: datetime | None = None) -> tuple[ApiToken, Actor]:
    now = now or utcnow()
    token = session.execute(select(ApiToken).where(ApiToken.token_hash == digest(secret))).scalar_one_or_none()
    if token is None or token.revoked_at is not None or now >= token.expires_at:
        raise NotAuthenticated("this API token is unknown, revoked or expired: create a new one")
    _check_account(token.user, now)
    if token.last_used_at is None or now - token.last_used_at >= TOUCH_EVERY:
        token.last_used_at = now  # bookkeeping, exempt from the audit rule
    actor = identity.actor_of(token.user)
    return token, Actor(actor.id, actor.roles, frozenset(token.scopes))


def list_tokens(session: Session, *, user: User) -> list[ApiToken]:
    return list(session.execute(select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.id)).scalars())


def revoke_token(session: Session, *, user: User, token_id: int) -> ApiToken:
    token = session.get(ApiToken, token_id)
    if token is None or token.user_id != user.id:  # another's token is as good as absent
        raise NotFound(f"you have no token {token_id}")
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        record(session, actor=identity.actor_of(user), action=AuditAction.TOKEN_REVOKE, target=f"token:{token.id}")
    return token

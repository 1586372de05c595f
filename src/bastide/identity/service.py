"""Accounts: Argon2id passwords, mandatory TOTP MFA, lockout, end-of-rights dates, separation
of duties (IAM-01…IAM-07). Services never commit; every write is audited."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import date, datetime

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bastide.audit.actions import AuditAction
from bastide.audit.service import record
from bastide.db import utcnow
from bastide.errors import Conflict, DomainError, InvalidInput, NotFound
from bastide.identity import throttle
from bastide.identity.models import Organisation, User
from bastide.identity.policy import check_permission
from bastide.identity.roles import INCOMPATIBLE, Permission, Role
from bastide.keys.base import KeyManager
from bastide.statemachine import Actor

HASHER = PasswordHasher()  # Argon2id with the library's current recommended parameters (IAM-05)
MIN_PASSWORD = 12
RECOVERY_CODES = 10
ISSUER = "Bastide"


class AuthenticationFailed(DomainError):
    code = "authentication_failed"
    http_status = 401
    exit_code = 10

EMAIL_MAX = 320  # the users.email column's width; the API's path declares the same


def _target(user: User) -> str:
    return f"user:{user.email}"


def actor_of(user: User) -> Actor:
    """The actor a signed-in person is: their nominative id and roles."""
    return Actor(_target(user), frozenset(user.roles))


def create_organisation(session: Session, *, actor: Actor, name: str, sector: str) -> Organisation:
    check_permission(actor, Permission.USER_MANAGE)
    if sector not in ("public", "private"):
        raise InvalidInput("sector must be public or private (EHDS Art. 53 purposes depend on it)",
                           details={"field": "sector"}, code="sector_unknown")
    if find_organisation(session, name) is not None:
        raise Conflict(f"organisation {name!r} already exists", details={"field": "organisation"},
                       code="organisation_exists")
    org = Organisation(name=name, sector=sector, created_at=utcnow())
    session.add(org)
    session.flush()
    record(session, actor=actor, action=AuditAction.ORGANISATION_CREATE, target=f"organisation:{name}",
           details={"sector": sector})
    return org


def list_organisations(session: Session) -> list[Organisation]:
    return list(session.execute(select(Organisation).order_by(Organisation.name)).scalars())


def find_organisation(session: Session, name: str) -> Organisation | None:
    return session.execute(select(Organisation).where(Organisation.name == name)).scalar_one_or_none()


def get_organisation(session: Session, name: str) -> Organisation:
    org = find_organisation(session, name)
    if org is None:
        raise NotFound(f"no organisation named {name!r}")
    return org


def check_roles(roles: set[str]) -> set[Role]:
    unknown = roles - set(Role._value2member_map_)
    if unknown:
        raise InvalidInput(f"unknown roles {sorted(unknown)}: choose among {', '.join(r.value for r in Role)}",
                           details={"field": "roles"}, code="roles_unknown")
    if not roles:
        raise InvalidInput("a user needs at least one role", details={"field": "roles"}, code="role_required")
    chosen = {Role(r) for r in roles}
    for pair in INCOMPATIBLE:
        if pair <= chosen:
            a, b = sorted(pair)
            raise InvalidInput(f"roles {a} and {b} may not be held by one person (separation of duties, IAM-07)",
                               details={"field": "roles", "pair": [a.value, b.value]}, code="separation_of_duties")
    return chosen


def create_user(session: Session, *, actor: Actor, email: str, name: str, organisation: Organisation,
                roles: set[str], end_of_rights: date, password: str | None = None) -> User:
    check_permission(actor, Permission.USER_MANAGE)
    email = email.strip().lower()
    if "@" not in email or len(email) > EMAIL_MAX:
        raise InvalidInput(f"{email!r} is not an e-mail address", details={"field": "email"}, code="email_invalid")
    if end_of_rights <= utcnow().date():
        raise InvalidInput("the end-of-rights date must be in the future (IAM-06)", details={"field": "end_of_rights"},
                           code="end_of_rights_past")
    chosen = check_roles(set(roles))
    if find_user(session, email) is not None:
        raise Conflict(f"a user {email} already exists", details={"field": "email"}, code="user_exists")
    user = User(email=email, name=name, organisation=organisation, roles=sorted(r.value for r in chosen),
                end_of_rights=end_of_rights, created_at=utcnow(), recovery_hashes=[])
    if password is not None:
        user.password_hash = _hash_password(password)
    session.add(user)
    session.flush()
    record(session, actor=actor, action=AuditAction.USER_CREATE, target=_target(user),
           details={"roles": user.roles, "organisation": organisation.name, "end_of_rights": str(end_of_rights)})
    return user


def _hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise InvalidInput(f"a password needs at least {MIN_PASSWORD} characters",
                           details={"field": "password", "min": MIN_PASSWORD}, code="password_short")
    return HASHER.hash(password)


def set_password(session: Session, *, actor: Actor, user: User, password: str) -> None:
    user.password_hash = _hash_password(password)
    record(session, actor=actor, action=AuditAction.USER_PASSWORD, target=_target(user))


def find_user(session: Session, email: str) -> User | None:
    return session.execute(select(User).where(User.email == email.strip().lower())).scalar_one_or_none()


def get_user(session: Session, email: str) -> User:
    user = find_user(session, email)
    if user is None:
        raise NotFound(f"no user {email}")
    return user


def account_state(user: User) -> str:
    return "disabled" if user.disabled_at else "locked" if user.locked_at else "active"


def list_users(session: Session) -> list[User]:
    return list(session.execute(select(User).order_by(User.email)).scalars())


@dataclass(frozen=True)
class Enrolment:
    uri: str  # otpauth:// URI for an authenticator app (shown as a QR code by the web page)
    recovery_codes: list[str]  # shown once, stored only hashed


def enrol_mfa(session: Session, *, keys: KeyManager, actor: Actor, user: User) -> Enrolment:
    secret = pyotp.random_base32()
    user.mfa_secret_wrapped = keys.wrap(totp_key_id(user), secret.encode())
    user.mfa_confirmed, user.mfa_last_step = False, 0
    codes = [secrets.token_hex(5) for _ in range(RECOVERY_CODES)]
    user.recovery_hashes = [_code_hash(c) for c in codes]
    record(session, actor=actor, action=AuditAction.USER_MFA_ENROL, target=_target(user))
    return Enrolment(pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name=ISSUER), codes)


def confirm_mfa(session: Session, *, keys: KeyManager, actor: Actor, user: User, code: str, now: datetime | None = None) -> None:
    if user.mfa_secret_wrapped is None:
        raise InvalidInput("enrol MFA before confirming it", code="mfa_not_enrolled")
    if not _accept_totp(keys, user, code, now or utcnow()):
        raise AuthenticationFailed("the code is wrong or was already used: type the current code of your app")
    user.mfa_confirmed = True
    record(session, actor=actor, action=AuditAction.USER_MFA_CONFIRM, target=_target(user))


def totp_key_id(user: User) -> str:
    """What a person's second-factor secret is wrapped under: bound to its account."""
    return totp_key_id_of(user.email)


def totp_key_id_of(email: str) -> str:
    return f"totp:{email}"


def _code_hash(code: str) -> str:
    return hashlib.sha256(code.strip().lower().encode()).hexdigest()


def _accept_totp(keys: KeyManager, user: User, code: str, now: datetime) -> bool:
    """A code of the current 30 s step (±1 for clock drift), never one already used."""
    secret = keys.unwrap(totp_key_id(user), user.mfa_secret_wrapped).decode()
    totp = pyotp.TOTP(secret)
    step = totp.timecode(now)
    for offset in (-1, 0, 1):
        if secrets.compare_digest(totp.generate_otp(step + offset), code.strip()) and step + offset > user.mfa_last_step:
            user.mfa_last_step = step + offset
            return True
    return False


@dataclass(frozen=True)
class LoginResult:
    """The outcome of a login; the caller commits it (failures count) and then raises `error`."""

    user: User | None
    error: DomainError | None = None


def authenticate(session: Session, *, keys: KeyManager, email: str, password: str, code: str,
                 policy: throttle.Policy, source: str | None = None, now: datetime | None = None) -> LoginResult:
    """One answer for an unknown account, a wrong password, a wrong code: the account's state
    (locked, disabled, past its rights, not enrolled) is told only once the password is right.
    Failures back off per account and per source (throttle.py) instead of locking accounts."""
    now = now or utcnow()
    user = find_user(session, email)
    attempt = _Attempt(user, actor_of(user) if user else ANONYMOUS, f"user:{email.strip().lower()}"[:300],
                       throttle.keys(email, source), source)
    try:
        throttle.check(session, attempt.keys, now)
    except throttle.TooManyAttempts as waiting:
        return _refused(session, attempt, waiting)
    if user is None:
        HASHER.hash(password)  # the same work as for a real account: timing tells nothing either
        return _failed(session, attempt, policy, now)
    if not password_ok(user, password):
        return _failed(session, attempt, policy, now)
    refusal = refusal_of(user, now)  # the password is right: the account's state may be told
    if refusal is not None:
        return _refused(session, attempt, refusal)
    if not second_factor_ok(keys, user, code, now):
        return _failed(session, attempt, policy, now)
    user.failed_logins = 0
    throttle.succeeded(session, attempt.keys)
    record(session, actor=attempt.actor, action=AuditAction.USER_LOGIN, target=attempt.target,
           details={"source": source} if source else None)
    return LoginResult(user)


ANONYMOUS = Actor("anonymous", frozenset())


@dataclass(frozen=True)
class _Attempt:
    user: User | None
    actor: Actor
    target: str
    keys: dict[str, str]
    source: str | None


def _failed(session: Session, attempt: _Attempt, policy: throttle.Policy, now: datetime) -> LoginResult:
    throttle.failed(session, attempt.keys, policy, now)
    details: dict = {"source": attempt.source}
    if attempt.user is not None:  # counted by the database, as the throttle's (concurrent failures each count)
        user = User.__table__
        details["failures"] = session.execute(
            update(user).where(user.c.id == attempt.user.id).values(failed_logins=user.c.failed_logins + 1)
            .returning(user.c.failed_logins)).scalar_one()
    record(session, actor=attempt.actor, action=AuditAction.USER_LOGIN_FAILED, target=attempt.target, details=details)
    return LoginResult(None, AuthenticationFailed("e-mail, password or code is wrong"))  # never says which


def _refused(session: Session, attempt: _Attempt, error: DomainError) -> LoginResult:
    record(session, actor=attempt.actor, action=AuditAction.USER_LOGIN_REFUSED, target=attempt.target,
           details={"reason": error.code, "source": attempt.source})
    return LoginResult(None, error)


def refusal_of(user: User, now: datetime) -> DomainError | None:
    """Why this account may not act now (disabled, locked, past its rights, no MFA), or None."""
    if user.disabled_at is not None:
        return AuthenticationFailed("this account is disabled: ask an administrator", code="account_disabled")
    if user.locked_at is not None:
        return AuthenticationFailed("this account is locked: ask an administrator to unlock it "
                                    "(`bastide users unlock`)", code="account_locked")
    if now.date() > user.end_of_rights:
        return AuthenticationFailed(f"this account's rights ended on {user.end_of_rights}", code="account_expired",
                                    details={"until": str(user.end_of_rights)})
    if not user.mfa_confirmed:
        return AuthenticationFailed("this account has no confirmed second factor: enrol MFA first (IAM-02)",
                                    code="mfa_not_enrolled")
    return None


def password_ok(user: User, password: str) -> bool:
    if not user.password_hash:
        return False
    try:
        return HASHER.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def second_factor_ok(keys: KeyManager, user: User, code: str, now: datetime) -> bool:
    if _accept_totp(keys, user, code, now):
        return True
    digest = _code_hash(code)
    if digest in user.recovery_hashes:  # a recovery code works once
        user.recovery_hashes = [h for h in user.recovery_hashes if h != digest]
        return True
    return False


def unlock_user(session: Session, *, actor: Actor, user: User) -> None:
    """Unlock an account locked after failed sign-ins; an account that is not locked is left as it is
    (no audit event for nothing done)."""
    check_permission(actor, Permission.USER_MANAGE)
    if user.locked_at is None and not user.failed_logins:
        return
    user.locked_at, user.failed_logins = None, 0
    throttle.clear(session, user.email)
    record(session, actor=actor, action=AuditAction.USER_UNLOCK, target=_target(user))


def disable_user(session: Session, *, actor: Actor, user: User, reason: str) -> None:
    """Disable an account at once (IAM-06), unless it is the last active administrator: nobody
    could then manage accounts, nor enable it again, from the platform."""
    check_permission(actor, Permission.USER_MANAGE)
    if user.disabled_at is not None:
        return
    if Role.ADMINISTRATOR.value in user.roles and _active_administrators(session) == {user.id}:
        raise Conflict("this is the last active administrator: make another administrator before disabling it",
                       code="last_administrator")
    user.disabled_at = utcnow()
    record(session, actor=actor, action=AuditAction.USER_DISABLE, target=_target(user), details={"reason": reason})


def enable_user(session: Session, *, actor: Actor, user: User) -> None:
    """Enable a disabled account again; an enabled one is left as it is."""
    check_permission(actor, Permission.USER_MANAGE)
    if user.disabled_at is None:
        return
    user.disabled_at = None
    record(session, actor=actor, action=AuditAction.USER_ENABLE, target=_target(user))


def _active_administrators(session: Session) -> set[int]:
    """The ids of the enabled administrators, their rows locked until the transaction ends (two
    administrators disabling each other at once must not both pass the check)."""
    rows = session.execute(select(User).where(User.disabled_at.is_(None)).with_for_update()).scalars()
    return {u.id for u in rows if Role.ADMINISTRATOR.value in u.roles}


def accept_terms(session: Session, *, user: User, version: str) -> None:
    """GOV-25, AUD-10: the terms of use (incl. that actions are traced) accepted at first login."""
    user.terms_version, user.terms_accepted_at = version, utcnow()
    record(session, actor=actor_of(user), action=AuditAction.USER_TERMS,
           target=_target(user), details={"version": version})

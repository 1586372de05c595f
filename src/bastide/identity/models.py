"""Organisations and named users (IAM-03: accounts are nominative)."""

from __future__ import annotations

from sqlalchemy import JSON, Date, ForeignKey, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from bastide.db import Base, UTCDateTime


class Organisation(Base):
    __tablename__ = "organisation"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(300), unique=True, nullable=False)
    sector: Mapped[str] = mapped_column(String(20), nullable=False)  # public | private (EHDS Art. 53)
    created_at = mapped_column(UTCDateTime(), nullable=False)


class User(Base):
    __tablename__ = "user_account"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True, nullable=False)
    name: Mapped[str] = mapped_column(String(300), nullable=False)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), nullable=False)
    roles: Mapped[list] = mapped_column(JSON, nullable=False)
    password_hash: Mapped[str | None] = mapped_column(String(200))
    mfa_secret_wrapped: Mapped[bytes | None] = mapped_column(LargeBinary)  # wrapped by the master key
    mfa_confirmed: Mapped[bool] = mapped_column(default=False, nullable=False)
    mfa_last_step: Mapped[int] = mapped_column(Integer, default=0, nullable=False)  # refuses a replayed code
    recovery_hashes: Mapped[list] = mapped_column(JSON, nullable=False, default=list)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    locked_at = mapped_column(UTCDateTime(), nullable=True)
    disabled_at = mapped_column(UTCDateTime(), nullable=True)
    end_of_rights = mapped_column(Date(), nullable=False)  # IAM-06: mandatory
    terms_version: Mapped[str | None] = mapped_column(String(20))
    terms_accepted_at = mapped_column(UTCDateTime(), nullable=True)
    # a one-time link to set a password and enrol MFA (first access), or after a reset (resets.py)
    activation_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    activation_expires_at = mapped_column(UTCDateTime(), nullable=True)
    activation_kind: Mapped[str | None] = mapped_column(String(20))  # account | mfa | password | full
    # a full reset asked by one administrator, waiting for a second one's approval
    reset_requested_by: Mapped[str | None] = mapped_column(String(200))
    reset_requested_at = mapped_column(UTCDateTime(), nullable=True)
    created_at = mapped_column(UTCDateTime(), nullable=False)

    organisation: Mapped[Organisation] = relationship()


class WebSession(Base):
    """A browser session: the cookie holds a random token, the database only its SHA-256."""

    __tablename__ = "web_session"
    # columns a request updates as bookkeeping, not as an action: no audit event for them
    __bookkeeping__ = frozenset({"last_seen_at"})

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), nullable=False, index=True)
    created_at = mapped_column(UTCDateTime(), nullable=False)
    last_seen_at = mapped_column(UTCDateTime(), nullable=False)
    expires_at = mapped_column(UTCDateTime(), nullable=False)  # absolute limit, whatever the activity
    ended_at = mapped_column(UTCDateTime(), nullable=True)

    user: Mapped[User] = relationship()


class ApiToken(Base):
    """A personal API token: hashed at rest, scoped to some of its owner's permissions, expiring."""

    __tablename__ = "api_token"
    __bookkeeping__ = frozenset({"last_used_at"})

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    prefix: Mapped[str] = mapped_column(String(16), nullable=False)  # shown in lists to recognise a token
    name: Mapped[str] = mapped_column(String(100), nullable=False)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), nullable=False, index=True)
    scopes: Mapped[list] = mapped_column(JSON, nullable=False)
    created_at = mapped_column(UTCDateTime(), nullable=False)
    expires_at = mapped_column(UTCDateTime(), nullable=False)
    revoked_at = mapped_column(UTCDateTime(), nullable=True)
    last_used_at = mapped_column(UTCDateTime(), nullable=True)

    user: Mapped[User] = relationship()


class LoginThrottle(Base):
    """Failed sign-ins per account (`account:<e-mail>`, whether it exists or not) and per source
    (`source:<address>`): past a few, each try waits, twice as long each time (throttle.py)."""

    __tablename__ = "login_throttle"

    key: Mapped[str] = mapped_column(String(400), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    blocked_until = mapped_column(UTCDateTime(), nullable=True)
    updated_at = mapped_column(UTCDateTime(), nullable=False)

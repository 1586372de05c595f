"""What the identity API takes and returns (never a hash, a wrapped secret or another's token)."""

from __future__ import annotations

from datetime import date, datetime

import segno
from pydantic import BaseModel, Field

from bastide.identity.models import ApiToken, Organisation, User
from bastide.identity.service import account_state


class LoginIn(BaseModel):
    email: str
    password: str
    code: str = Field(description="The current TOTP code, or a recovery code.")


class ActivateIn(BaseModel):
    token: str = Field(description="The secret of the activation link.")
    password: str = Field("", description="The new password (a new account, a full reset).")
    current_password: str = Field("", description="The current password (a link that replaces a lost authenticator).")


class PasswordResetIn(BaseModel):
    token: str = Field(description="The secret of the reset link.")
    code: str = Field(description="A current code of the authenticator app, or a recovery code.")
    password: str = Field(description="The new password.")


class ResetIn(BaseModel):
    kind: str = Field(description="mfa (a lost authenticator: the link asks for the current password), password "
                      "(a lost password: the link asks for a current code), full (both: a second administrator "
                      "approves it).")


class ResetOut(BaseModel):
    email: str
    kind: str
    pending: bool = Field(description="A full reset waits for a second administrator's approval.")
    sent_to: str = Field(description="Where the person's message went (their link is never shown here).")


class ConfirmIn(BaseModel):
    token: str
    code: str


class EnrolmentOut(BaseModel):
    otpauth_uri: str
    qr_svg: str = Field(description="The otpauth URI as an SVG QR code, for an authenticator app.")
    recovery_codes: list[str] = Field(description="Shown once; each works once when the phone is lost.")

    @classmethod
    def build(cls, uri: str, codes: list[str]) -> EnrolmentOut:
        svg = segno.make(uri, error="m").svg_inline(scale=5, title="TOTP")
        return cls(otpauth_uri=uri, qr_svg=svg, recovery_codes=codes)


class MeOut(BaseModel):
    email: str
    name: str
    organisation: str
    roles: list[str]
    terms_version: str | None
    terms_required: str | None = Field(description="The version to accept before anything else, if any.")
    csrf_token: str | None = Field(description="Send it back as X-CSRF-Token on writes with the session cookie.")

    @classmethod
    def build(cls, user: User, *, current_terms: str, csrf: str | None) -> MeOut:
        return cls(email=user.email, name=user.name, organisation=user.organisation.name, roles=user.roles,
                   terms_version=user.terms_version,
                   terms_required=None if user.terms_version == current_terms else current_terms, csrf_token=csrf)


class TermsIn(BaseModel):
    version: str


class TokenIn(BaseModel):
    name: str
    scopes: list[str]
    days: int = 30


class TokenOut(BaseModel):
    id: int
    prefix: str
    name: str
    scopes: list[str]
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None

    @classmethod
    def build(cls, t: ApiToken) -> TokenOut:
        return cls(id=t.id, prefix=t.prefix, name=t.name, scopes=t.scopes, created_at=t.created_at,
                   expires_at=t.expires_at, revoked_at=t.revoked_at, last_used_at=t.last_used_at)


class TokenCreated(TokenOut):
    token: str = Field(description="Shown once: only its hash is kept.")


class OrganisationIn(BaseModel):
    name: str
    sector: str


class OrganisationOut(BaseModel):
    id: int
    name: str
    sector: str

    @classmethod
    def build(cls, o: Organisation) -> OrganisationOut:
        return cls(id=o.id, name=o.name, sector=o.sector)


class UserIn(BaseModel):
    email: str
    name: str
    organisation: str
    roles: list[str]
    end_of_rights: date


class UserOut(BaseModel):
    email: str
    name: str
    organisation: str
    roles: list[str]
    mfa: bool
    end_of_rights: date
    state: str

    @classmethod
    def build(cls, u: User) -> UserOut:
        return cls(email=u.email, name=u.name, organisation=u.organisation.name, roles=u.roles, mfa=u.mfa_confirmed,
                   end_of_rights=u.end_of_rights, state=account_state(u))


class ActivationOut(BaseModel):
    email: str
    activation_url: str | None = Field(description="Only without a mail relay: give it to the person (once); it "
                                                   "sets a password and enrols MFA. With one, it went to them only.")
    sent_to: str = Field(description="Where the person's message went: the mail relay, or the outbox file.")

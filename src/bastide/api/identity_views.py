"""/api/auth, /api/tokens, /api/users, /api/organisations: sign-in, activation, tokens, accounts."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request, Response
from starlette.concurrency import run_in_threadpool

from bastide.errors import InvalidInput
from bastide.gate.auth import SESSION_COOKIE, Principal, cookie_options, guard
from bastide.gate.egress import Egress, allows
from bastide.gate.request import platform_of
from bastide.gate.signin import end_session, sign_in, with_link
from bastide.identity import credentials, invitations, resets
from bastide.identity import service as identity
from bastide.identity.models import User
from bastide.identity.roles import Permission
from bastide.identity.schemas import (ActivateIn, ActivationOut, ConfirmIn, EnrolmentOut, LoginIn, MeOut,
                                      OrganisationIn, OrganisationOut, PasswordResetIn, ResetIn, ResetOut, TermsIn,
                                      TokenCreated, TokenIn, TokenOut, UserIn, UserOut)

router = APIRouter(tags=["identity"], dependencies=[allows(Egress.ACCOUNT)])
Signed = Annotated[Principal, Depends(guard(terms=False))]
SignedSession = Annotated[Principal, Depends(guard(terms=False, sessions_only=True))]
Admin = Annotated[Principal, Depends(guard(Permission.USER_MANAGE))]
Email = Annotated[str, Path(max_length=identity.EMAIL_MAX, pattern="@", examples=["alice@labo.example"])]  # as create_user


@router.post("/api/auth/login", response_model=MeOut)
async def login(request: Request, response: Response, body: LoginIn):
    user, secret = await sign_in(request, email=body.email, password=body.password, code=body.code)
    response.set_cookie(SESSION_COOKIE, secret, **cookie_options(request))
    return await run_in_threadpool(_signed_in, request, user.id, secret)


def _signed_in(request: Request, user_id: int, secret: str) -> MeOut:
    with platform_of(request).db.unit_of_work() as session:
        return MeOut.build(session.get(User, user_id), current_terms=platform_of(request).settings.terms_version,
                           csrf=credentials.csrf_token(secret))


@router.post("/api/auth/logout", status_code=204)
def logout(request: Request, response: Response, who: SignedSession):
    end_session(request)
    response.delete_cookie(SESSION_COOKIE, **cookie_options(request))


@router.get("/api/auth/me", response_model=MeOut)
def me(request: Request, who: Signed):
    with platform_of(request).db.unit_of_work() as session:
        return MeOut.build(session.get(User, who.user_id), current_terms=platform_of(request).settings.terms_version,
                           csrf=who.csrf)


@router.post("/api/auth/terms", response_model=MeOut)
def accept_terms(request: Request, body: TermsIn, who: Signed):
    """GOV-25, AUD-10: accept the current terms of use (version and time are kept)."""
    current = platform_of(request).settings.terms_version
    if body.version != current:
        raise InvalidInput(f"the current terms are version {current}", details={"version": current})
    with platform_of(request).db.unit_of_work() as session:
        user = session.get(User, who.user_id)
        identity.accept_terms(session, user=user, version=current)
        return MeOut.build(user, current_terms=current, csrf=who.csrf)


@router.post("/api/auth/activate", response_model=EnrolmentOut)
def activate(request: Request, body: ActivateIn):
    """From an activation link: a new password (or, replacing a lost authenticator, the current
    one); receive the TOTP secret (as a QR code) and recovery codes."""
    keys = platform_of(request).keys
    enrolment = with_link(request, body.token, lambda session: credentials.activate(
        session, keys=keys, secret=body.token, password=body.password, current_password=body.current_password))
    return EnrolmentOut.build(enrolment.uri, enrolment.recovery_codes)


@router.post("/api/auth/reset-password", status_code=204)
def reset_password(request: Request, body: PasswordResetIn):
    """From a password reset link: a current code of the authenticator app and the new password."""
    keys = platform_of(request).keys
    with_link(request, body.token, lambda session: credentials.reset_password(
        session, keys=keys, secret=body.token, code=body.code, password=body.password))


@router.post("/api/auth/activate/confirm", status_code=204)
def confirm(request: Request, body: ConfirmIn):
    platform = platform_of(request)
    with platform.db.unit_of_work() as session:
        credentials.confirm_activation(session, keys=platform.keys, secret=body.token, code=body.code)


@router.get("/api/tokens", response_model=list[TokenOut])
def list_tokens(request: Request, who: SignedSession):
    with platform_of(request).db.unit_of_work() as session:
        return [TokenOut.build(t) for t in credentials.list_tokens(session, user=session.get(User, who.user_id))]


@router.post("/api/tokens", response_model=TokenCreated, status_code=201)
def create_token(request: Request, body: TokenIn, who: Annotated[Principal, Depends(guard(sessions_only=True))]):
    with platform_of(request).db.unit_of_work() as session:
        token, secret = credentials.create_token(session, user=session.get(User, who.user_id), name=body.name,
                                                 scopes=body.scopes, days=body.days)
        return TokenCreated(**TokenOut.build(token).model_dump(), token=secret)


@router.delete("/api/tokens/{token_id}", response_model=TokenOut)
def revoke_token(request: Request, token_id: int, who: SignedSession):
    with platform_of(request).db.unit_of_work() as session:
        return TokenOut.build(credentials.revoke_token(session, user=session.get(User, who.user_id), token_id=token_id))


@router.get("/api/organisations", response_model=list[OrganisationOut])
def list_organisations(request: Request, who: Admin):
    with platform_of(request).db.unit_of_work() as session:
        return [OrganisationOut.build(o) for o in identity.list_organisations(session)]


@router.post("/api/organisations", response_model=OrganisationOut, status_code=201)
def create_organisation(request: Request, body: OrganisationIn, who: Admin):
    with platform_of(request).db.unit_of_work() as session:
        return OrganisationOut.build(identity.create_organisation(session, actor=who.actor, name=body.name,
                                                                  sector=body.sector))


@router.get("/api/users", response_model=list[UserOut])
def list_users(request: Request, who: Admin):
    with platform_of(request).db.unit_of_work() as session:
        return [UserOut.build(u) for u in identity.list_users(session)]


@router.post("/api/users", response_model=ActivationOut, status_code=201)
def create_user(request: Request, body: UserIn, who: Admin):
    """Create a named account; the answer's link lets the person set a password and enrol MFA."""
    with platform_of(request).db.unit_of_work() as session:
        user = identity.create_user(session, actor=who.actor, email=body.email, name=body.name,
                                    organisation=identity.get_organisation(session, body.organisation),
                                    roles=set(body.roles), end_of_rights=body.end_of_rights)
        sent = invitations.invite(session, settings=platform_of(request).settings, actor=who.actor, user=user)
        return ActivationOut(email=user.email, activation_url=sent.link, sent_to=sent.sent_to.rsplit("/", 1)[-1])


@router.post("/api/users/{email}/disable", response_model=UserOut)
def disable_user(request: Request, email: Email, who: Admin, reason: str = "disabled by an administrator"):
    return _admin(request, who, email, identity.disable_user, reason=reason)


@router.post("/api/users/{email}/enable", response_model=UserOut)
def enable_user(request: Request, email: Email, who: Admin):
    return _admin(request, who, email, identity.enable_user)


@router.post("/api/users/{email}/unlock", response_model=UserOut)
def unlock_user(request: Request, email: Email, who: Admin):
    return _admin(request, who, email, identity.unlock_user)


@router.post("/api/users/{email}/reset", response_model=ResetOut)
def reset(request: Request, email: Email, body: ResetIn, who: Admin):
    """Reset a lost password or authenticator: the person's sessions and tokens end, and the link
    goes to the person only; it asks for what they still hold (a full reset: a second administrator)."""
    with platform_of(request).db.unit_of_work() as session:
        done = resets.reset(session, settings=platform_of(request).settings, actor=who.actor,
                            user=identity.get_user(session, email), kind=body.kind)
    return ResetOut(**done.__dict__)


@router.post("/api/users/{email}/reset/approve", response_model=ResetOut)
def approve_reset(request: Request, email: Email, who: Admin):
    """A second administrator approves a full reset another one asked for."""
    with platform_of(request).db.unit_of_work() as session:
        done = resets.approve(session, settings=platform_of(request).settings, actor=who.actor,
                              user=identity.get_user(session, email))
    return ResetOut(**done.__dict__)


def _admin(request: Request, who: Principal, email: str, verb, **kwargs) -> UserOut:
    with platform_of(request).db.unit_of_work() as session:
        user = identity.get_user(session, email)
        verb(session, actor=who.actor, user=user, **kwargs)
        return UserOut.build(user)

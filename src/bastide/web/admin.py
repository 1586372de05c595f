"""The administrators' pages: the accounts, a new member of an organisation, and what may be done
to an account (unlock, enable, disable, a new link, resets) under the containment rules."""

from __future__ import annotations

from datetime import date, timedelta

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, field_validator
from starlette.datastructures import FormData

from bastide.errors import DomainError
from bastide.gate.auth import Principal
from bastide.gate.egress import Egress, allows
from bastide.gate.guards import Administrator
from bastide.gate.request import platform_of as _platform
from bastide.gate.request import unit_of_work as _db
from bastide.identity import admin, invitations
from bastide.identity import service as identity
from bastide.identity.roles import Role
from bastide.identity.schemas import UserOut
from bastide.web.forms import invalid_fields, read_form
from bastide.web.render import Fields, render, unconfirmed

router = APIRouter(include_in_schema=False, dependencies=[allows(Egress.ACCOUNT)])


class MemberForm(BaseModel):
    """A new organisation member, as the accounts page's form sends it."""
    email: str = ""
    name: str = ""
    organisation: str = ""
    sector: str = ""
    roles: list[str] = []
    end_of_rights: date

    @field_validator("organisation")
    @classmethod
    def _trimmed(cls, value: str) -> str:
        return value.strip()


@router.get("/admin/users", response_class=HTMLResponse, dependencies=[allows(Egress.ACCOUNT)])
def users_page(request: Request, who: Administrator):
    return _users_page(request, who)


def _users_page(request: Request, who: Principal, *, sent: invitations.Invitation | None = None,
                error: DomainError | None = None, typed: FormData | None = None,
                done: tuple[str, str] | None = None) -> HTMLResponse:
    """The accounts, and the form for a new one (after a refusal: as typed, the error beside its field)."""
    with _db(request) as session:
        users = [UserOut.build(u) for u in identity.list_users(session)]
        organisations = [o.name for o in identity.list_organisations(session)]
    typed_roles = typed.getlist("roles") if typed is not None else []
    return render(request, "users.html", {"users": users, "organisations": organisations, "sent": sent,
                                          "roles": [r.value for r in Role], "error": error,
                                          "typed": {k: str(v) for k, v in (typed or {}).items() if k != "roles"},
                                          "typed_roles": typed_roles, "invalid": invalid_fields(error),
                                          "done": done, "account_actions": list(admin.ACTIONS),
                                          "default_until": date.today() + timedelta(days=365)},
                  who=who, status=error.http_status if error else 200)


@router.post("/admin/users", response_class=HTMLResponse, dependencies=[allows(Egress.ACCOUNT)])
def create_user(request: Request, who: Administrator, fields: Fields):
    """Register an organisation member (creating the organisation if new); its link goes to the
    person (or, without a mail relay, is shown once). A refusal keeps what was typed."""
    try:
        said = read_form(MemberForm, fields)
        with _db(request) as session:
            organisation = identity.find_organisation(session, said.organisation) or identity.create_organisation(
                session, actor=who.actor, name=said.organisation, sector=said.sector)
            user = identity.create_user(session, actor=who.actor, email=said.email, name=said.name,
                                        organisation=organisation, roles=set(said.roles), end_of_rights=said.end_of_rights)
            sent = invitations.invite(session, settings=_platform(request).settings, actor=who.actor,
                                      user=user)
    except DomainError as exc:
        return _users_page(request, who, error=exc, typed=fields)
    return _users_page(request, who, sent=sent)


@router.post("/admin/users/{email}/act", response_class=HTMLResponse, dependencies=[allows(Egress.ACCOUNT)])
def account_act(request: Request, email: str, who: Administrator, fields: Fields):
    """Unlock, enable, disable, a new activation link, a reset (issue 18, item 10); what ends the
    person's sessions is asked once more."""
    action = str(fields.get("action", ""))
    try:
        if action in admin.CONFIRMED:
            asking = unconfirmed(request, fields, act=action, subject=email, back="/admin/users")
            if asking is not None:
                return asking
        with _db(request) as session:
            admin.act(session, settings=_platform(request).settings, actor=who.actor,
                      user=identity.get_user(session, email), action=action, reason=str(fields.get("reason", "")))
    except DomainError as exc:
        return _users_page(request, who, error=exc)
    return _users_page(request, who, done=(action, email))



"""`bastide users`: the administrator's commands for organisations and accounts."""

from __future__ import annotations

from datetime import date
from typing import Annotated

import typer
from rich.table import Table

from bastide.cli.common import actor, console, platform_session
from bastide.identity import credentials, invitations
from bastide.identity import resets
from bastide.identity import service as identity
from bastide.identity.roles import Role

app = typer.Typer(help="Organisations and named accounts (MFA, lockout, end-of-rights).", no_args_is_help=True)


@app.command("create-org")
def create_org(
    name: Annotated[str, typer.Argument(help="Organisation name.")],
    sector: Annotated[str, typer.Option(help="public or private (EHDS Art. 53 purposes depend on it).")],
) -> None:
    """Register an organisation."""
    with platform_session() as platform, platform.db.unit_of_work() as session:
        identity.create_organisation(session, actor=actor(), name=name, sector=sector)
    console.print(f"organisation {name} created")


@app.command("create")
def create(
    email: Annotated[str, typer.Argument(help="The person's e-mail (accounts are nominative).")],
    name: Annotated[str, typer.Option(help="Full name.")],
    org: Annotated[str, typer.Option(help="Organisation name.")],
    role: Annotated[list[str], typer.Option(help=f"Role (repeatable): {', '.join(r.value for r in Role)}.")],
    until: Annotated[str, typer.Option(help="End-of-rights date, YYYY-MM-DD (mandatory, IAM-06).")],
) -> None:
    """Create an account; the person sets a password and enrols MFA before any login."""
    try:
        end = date.fromisoformat(until)
    except ValueError:
        console.print(f"[red]error:[/] --until {until!r} is not a date: write YYYY-MM-DD")
        raise typer.Exit(2) from None
    with platform_session() as platform, platform.db.unit_of_work() as session:
        organisation = identity.get_organisation(session, org)
        user = identity.create_user(session, actor=actor(), email=email, name=name, organisation=organisation,
                                    roles=set(role), end_of_rights=end)
        sent = invitations.invite(session, settings=platform.settings, actor=actor(), user=user)
    console.print(f"user {email} created, rights until {end}")
    _show(sent)


def _show(sent: invitations.Invitation) -> None:
    """Where the link went; the link itself only when no mail relay carries it (a laptop)."""
    if sent.link is None:
        console.print(f"the activation link was mailed to {sent.email} (through {sent.sent_to}), valid "
                      f"{credentials.ACTIVATION_TTL.days} days, once: nobody else sees it")
        return
    console.print(f"give this activation link to the person (valid {credentials.ACTIVATION_TTL.days} days, once): "
                  f"they choose a password and enrol their authenticator app (no mail relay: BASTIDE_MAIL_URL; "
                  f"the message is in {sent.sent_to})")
    typer.echo(sent.link)


@app.command("activation")
def activation(email: str) -> None:
    """Issue a new activation link (a lost or expired one); the earlier link stops working."""
    with platform_session() as platform, platform.db.unit_of_work() as session:
        sent = invitations.invite(session, settings=platform.settings, actor=actor(),
                                  user=identity.get_user(session, email))
    _show(sent)


@app.command("list")
def list_users() -> None:
    """List accounts with their roles, MFA state and end-of-rights date."""
    with platform_session() as platform, platform.db.unit_of_work() as session:
        table = Table("e-mail", "name", "organisation", "roles", "MFA", "until", "state")
        for u in identity.list_users(session):
            table.add_row(u.email, u.name, u.organisation.name, ", ".join(u.roles), "yes" if u.mfa_confirmed else "no",
                          str(u.end_of_rights), identity.account_state(u))
        console.print(table)


def _admin(email: str, verb, done: str, **kwargs) -> None:
    with platform_session() as platform, platform.db.unit_of_work() as session:
        verb(session, actor=actor(), user=identity.get_user(session, email), **kwargs)
    console.print(f"{email}: {done}")


@app.command("disable")
def disable(email: str, reason: Annotated[str, typer.Option(help="Why (kept in the audit trail).")]) -> None:
    """Disable an account at once (deprovisioning, IAM-06)."""
    _admin(email, identity.disable_user, "disabled", reason=reason)


@app.command("enable")
def enable(email: str) -> None:
    """Enable a disabled account again."""
    _admin(email, identity.enable_user, "enabled")


@app.command("unlock")
def unlock(email: str) -> None:
    """Unlock an account locked after too many failed logins."""
    _admin(email, identity.unlock_user, "unlocked")


@app.command("reset")
def reset(email: str, kind: Annotated[str, typer.Option(help="mfa (a lost authenticator: the person's link asks "
                                                       "for their password), password (a lost password: it asks for "
                                                       "a code of their app), full (both: a second administrator "
                                                       "approves it with `approve-reset`).")]) -> None:
    """Reset a lost password or authenticator: the person's sessions and tokens end; their link
    goes to them only (mail, or home/outbox/ on a laptop)."""
    with platform_session() as platform, platform.db.unit_of_work() as session:
        done = resets.reset(session, settings=platform.settings, actor=actor(), user=identity.get_user(session, email),
                            kind=kind)
    console.print(f"{email}: {done.kind} reset " + ("asked: a second administrator approves it (`bastide users "
                                                   "approve-reset`)" if done.pending else "done")
                  + f"; the person was told ({done.sent_to})")


@app.command("approve-reset")
def approve_reset(email: str) -> None:
    """Approve a full reset another administrator asked for (two-person rule)."""
    with platform_session() as platform, platform.db.unit_of_work() as session:
        done = resets.approve(session, settings=platform.settings, actor=actor(), user=identity.get_user(session, email))
    console.print(f"{email}: full reset done; the person was told ({done.sent_to})")

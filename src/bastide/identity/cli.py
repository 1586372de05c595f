"""`bastide users`: the administrator's commands for organisations and accounts."""

from __future__ import annotations

from datetime import date
from typing import Annotated

import typer
from rich.table import Table

from bastide.cli.common import actor, console, platform_session
from bastide.identity import credentials
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
        link = _activation_link(platform, session, user)
    console.print(f"user {email} created, rights until {end}")
    _show_link(link)


def _activation_link(platform, session, user) -> str:
    secret = credentials.issue_activation(session, actor=actor(), user=user)
    return f"{platform.settings.public_url.rstrip('/')}/activate/{secret}"


def _show_link(link: str) -> None:
    console.print(f"give this activation link to the person (valid {credentials.ACTIVATION_TTL.days} days, once): "
                  "they choose a password and enrol their authenticator app")
    typer.echo(link)


@app.command("activation")
def activation(email: str) -> None:
    """Issue a new activation link (a lost or expired one); the earlier link stops working."""
    with platform_session() as platform, platform.db.unit_of_work() as session:
        link = _activation_link(platform, session, identity.get_user(session, email))
    _show_link(link)


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


@app.command("unlock")
def unlock(email: str) -> None:
    """Unlock an account locked after too many failed logins."""
    _admin(email, identity.unlock_user, "unlocked")


@app.command("reset-mfa")
def reset_mfa(email: str) -> None:
    """Remove a lost second factor; the new activation link sets a password and a new factor."""
    with platform_session() as platform, platform.db.unit_of_work() as session:
        user = identity.get_user(session, email)
        identity.reset_mfa(session, actor=actor(), user=user)
        link = _activation_link(platform, session, user)
    console.print(f"{email}: second factor removed")
    _show_link(link)

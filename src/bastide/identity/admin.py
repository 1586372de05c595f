"""What an administrator does to an account, by name (issue 18, item 10): the accounts page
offers each, under the same rules as the API and the CLI (the last administrator stays enabled,
a reset's link goes to the person only, a full reset needs a second administrator)."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.orm import Session

from bastide.errors import not_among
from bastide.identity import invitations, resets
from bastide.identity import service as identity
from bastide.identity.models import User
from bastide.identity.policy import check_permission
from bastide.identity.roles import Permission
from bastide.statemachine import Actor

DEFAULT_REASON = "disabled by an administrator"


def _disable(session, *, settings, actor, user, reason):
    identity.disable_user(session, actor=actor, user=user, reason=reason or DEFAULT_REASON)


def _reset(kind: str) -> Callable:
    def reset(session, *, settings, actor, user, reason):
        resets.reset(session, settings=settings, actor=actor, user=user, kind=kind)

    return reset


ACTIONS: dict[str, Callable] = {
    "unlock": lambda session, *, settings, actor, user, reason: identity.unlock_user(session, actor=actor, user=user),
    "enable": lambda session, *, settings, actor, user, reason: identity.enable_user(session, actor=actor, user=user),
    "disable": _disable,
    "activation": lambda session, *, settings, actor, user, reason: invitations.invite(
        session, settings=settings, actor=actor, user=user),
    "reset_mfa": _reset("mfa"),
    "reset_password": _reset("password"),
    "reset_full": _reset("full"),
    "approve_reset": lambda session, *, settings, actor, user, reason: resets.approve(
        session, settings=settings, actor=actor, user=user),
}
# these end the person's sessions or access: asked once more on the page, saying so
CONFIRMED = frozenset({"disable", "reset_mfa", "reset_password", "reset_full", "approve_reset"})


def act(session: Session, *, settings, actor: Actor, user: User, action: str, reason: str = "") -> None:
    """Do `action` to `user`'s account (in the caller's transaction, audited by the step itself)."""
    check_permission(actor, Permission.USER_MANAGE)
    step = ACTIONS.get(action)
    if step is None:
        raise not_among("action", ACTIONS)
    step(session, settings=settings, actor=actor, user=user, reason=reason.strip())

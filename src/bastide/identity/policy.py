"""The one place permissions are checked: a raising check and its boolean twin."""

from __future__ import annotations

from bastide.errors import DomainError
from bastide.identity.roles import Permission, permissions_of
from bastide.statemachine import Actor


class Forbidden(DomainError):
    code = "forbidden"
    http_status = 403
    exit_code = 9


def has_permission(actor: Actor, permission: Permission) -> bool:
    """A role grants it and, for an API token, the token's scopes include it."""
    return permission in permissions_of(actor.roles) and (actor.scopes is None or permission in actor.scopes)


def check_permission(actor: Actor, permission: Permission) -> None:
    """Deny by default: raise unless one of the actor's roles grants `permission`."""
    if not has_permission(actor, permission):
        granted = permission in permissions_of(actor.roles)
        why = "the token's scopes do not include it" if granted else "no role grants it"
        raise Forbidden(f"{actor.id} may not {permission} ({why})",
                        details={"actor": actor.id, "permission": str(permission)})

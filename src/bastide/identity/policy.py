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
    return permission in permissions_of(actor.roles)


def check_permission(actor: Actor, permission: Permission) -> None:
    """Deny by default: raise unless one of the actor's roles grants `permission`."""
    if not has_permission(actor, permission):
        raise Forbidden(f"{actor.id} may not {permission} (no role grants it)",
                        details={"actor": actor.id, "permission": str(permission)})

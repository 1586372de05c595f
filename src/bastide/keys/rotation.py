"""Rotating the master key (KEY-02: RGS annex B2 renews keys; KEY-08): every key it wraps is
wrapped again under a new one, then the old one is destroyed. No data file changes (they are
encrypted under data keys, which stay).

Each step may be run again after a crash: while both master keys exist, unwrap tries both, new
keys are wrapped under the next one, and a pass over keys already rewrapped changes nothing. The
old key is destroyed only after a pass that found nothing left to rewrap."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import select

from bastide.audit.actions import AuditAction
from bastide.audit.service import record
from bastide.errors import Conflict
from bastide.identity.models import User
from bastide.identity.service import totp_key_id
from bastide.keys.models import DataKey
from bastide.statemachine import Actor

PASSES = 5  # a pass rewraps what was wrapped meanwhile under the old key; more than a few means a writer keeps racing


@dataclass(frozen=True)
class Rotation:
    data_keys: int  # live data keys now wrapped under the new master key
    secrets: int  # second-factor secrets likewise


def rotate_master_key(platform, *, actor: Actor, before_finish: Callable[[], None] | None = None) -> Rotation:
    """`before_finish` runs once every key is wrapped under the new master key and the old one
    still exists: what keeps a copy of a wrapped key elsewhere (a backup repository) updates it."""
    keys = platform.keys
    keys.begin_rotation()
    for round_ in range(1, PASSES + 1):
        with platform.db.unit_of_work() as session:
            changed, totals = _rewrap_pass(session, keys)
            if changed:
                record(session, actor=actor, action=AuditAction.KEY_ROTATE, target="key:master",
                       details={"pass": round_, "rewrapped": changed, "backend": keys.backend})
        if not changed:  # nothing left under the old master key
            break
    else:
        raise Conflict(f"keys kept being wrapped under the old master key through {PASSES} passes: run the "
                       "rotation again when the platform is quieter (both master keys are kept meanwhile)")
    if before_finish is not None:
        before_finish()
    keys.finish_rotation()
    with platform.db.unit_of_work() as session:
        record(session, actor=actor, action=AuditAction.KEY_ROTATE, target="key:master",
               details={"finished": True, "data_keys": totals[0], "secrets": totals[1], "backend": keys.backend})
    return Rotation(*totals)


def _rewrap_pass(session, keys) -> tuple[int, tuple[int, int]]:
    """Rewrap every live data key and second-factor secret; how many changed, and how many there are."""
    changed = 0
    data_keys = session.execute(select(DataKey).where(DataKey.wrapped.is_not(None))).scalars().all()
    for row in data_keys:
        again = keys.rewrap(row.id, row.wrapped)
        changed += again != row.wrapped
        row.wrapped = again
    users = session.execute(select(User).where(User.mfa_secret_wrapped.is_not(None))).scalars().all()
    for user in users:
        again = keys.rewrap(totp_key_id(user), user.mfa_secret_wrapped)
        changed += again != user.mfa_secret_wrapped
        user.mfa_secret_wrapped = again
    return changed, (len(data_keys), len(users))

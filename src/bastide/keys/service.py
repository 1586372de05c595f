"""Data keys: create, unwrap, destroy (crypto-shredding). Audited like every write."""

from __future__ import annotations

import secrets

from sqlalchemy.orm import Session

from bastide.audit.actions import AuditAction
from bastide.audit.service import record
from bastide.db import utcnow
from bastide.errors import KeyUnavailable, NotFound
from bastide.keys.base import DATA_KEY_BYTES, KeyManager
from bastide.keys.models import DataKey
from bastide.statemachine import Actor


def create_key(session: Session, *, keys: KeyManager, actor: Actor, purpose: str) -> DataKey:
    key_id = "dk-" + secrets.token_hex(12)
    material = secrets.token_bytes(DATA_KEY_BYTES)
    row = DataKey(
        id=key_id, purpose=purpose, backend=keys.backend, wrapped=keys.wrap(key_id, material), created_at=utcnow()
    )
    session.add(row)
    record(session, actor=actor, action=AuditAction.KEY_CREATE, target=f"key:{key_id}", details={"purpose": purpose})
    return row


def get_key(session: Session, key_id: str) -> DataKey:
    row = session.get(DataKey, key_id)
    if row is None:
        raise NotFound(f"data key {key_id} does not exist")
    return row


def unwrap_key(session: Session, *, keys: KeyManager, key_id: str) -> bytes:
    row = get_key(session, key_id)
    if row.wrapped is None:
        raise KeyUnavailable(f"data key {key_id} was destroyed on {row.destroyed_at:%Y-%m-%d}: its data is unreadable")
    return keys.unwrap(key_id, row.wrapped)


def destroy_key(session: Session, *, actor: Actor, key_id: str, reason: str) -> DataKey:
    row = get_key(session, key_id)
    if row.wrapped is None:
        raise KeyUnavailable(f"data key {key_id} is already destroyed")
    row.wrapped, row.destroyed_at = None, utcnow()
    record(session, actor=actor, action=AuditAction.KEY_DESTROY, target=f"key:{key_id}", details={"reason": reason})
    return row

"""Small files (outputs, imports) sealed whole with AES-256-GCM under a data key, bound to where
they are stored: a sealed file moved to another key in the store does not open."""

from __future__ import annotations

import secrets

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy.orm import Session

from bastide.keys import service as key_service
from bastide.storage import ObjectStore

NONCE = 12


def put_sealed(session: Session, *, store: ObjectStore, keys, key_id: str, where: str, content: bytes) -> None:
    key = key_service.unwrap_key(session, keys=keys, key_id=key_id)
    nonce = secrets.token_bytes(NONCE)
    store.put_bytes(where, nonce + AESGCM(key).encrypt(nonce, content, where.encode()))


def get_sealed(session: Session, *, store: ObjectStore, keys, key_id: str, where: str) -> bytes:
    key = key_service.unwrap_key(session, keys=keys, key_id=key_id)
    sealed = store.get_bytes(where)
    return AESGCM(key).decrypt(sealed[:NONCE], sealed[NONCE:], where.encode())

"""Files (outputs, imports, job logs) sealed with AES-256-GCM under a data key, bound to where
they are stored: a sealed file moved to another key in the store does not open.

A file is sealed in chunks of 1 MiB (the STREAM construction: each chunk's nonce is a random
prefix, the chunk's number and whether it is the last), so that a large output is written from
disk and read back a chunk at a time — the server holds one chunk, never the file — and a
reader that wants only the beginning (a capped view) decrypts only that. Reordered, dropped or
truncated chunks fail to open. Files sealed whole by earlier versions (no magic) still open."""

from __future__ import annotations

import hashlib
import os
import secrets
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy.orm import Session

from bastide.errors import InvalidInput
from bastide.keys import service as key_service
from bastide.storage import ObjectStore

NONCE = 12
MAGIC = b"BSL2"
PREFIX = 7
CHUNK = 1 << 20
TAG = 16


@dataclass(frozen=True)
class Sealed:
    sha256: str  # of the content, in clear
    size: int


class TooLarge(InvalidInput):
    code = "too_large"


def _nonce(prefix: bytes, number: int, last: bool) -> bytes:
    return prefix + number.to_bytes(4, "big") + (b"\x01" if last else b"\x00")


def seal_stream(key: bytes, where: str, source: BinaryIO, sink: BinaryIO, *, limit: int | None = None) -> Sealed:
    """Seal what `source` holds into `sink`; refuse (TooLarge) past `limit` bytes."""
    aead, prefix, aad = AESGCM(key), secrets.token_bytes(PREFIX), where.encode()
    digest, size, number = hashlib.sha256(), 0, 0
    sink.write(MAGIC + prefix)
    chunk = source.read(CHUNK)
    while True:
        following = source.read(CHUNK) if chunk else b""
        size += len(chunk)
        if limit is not None and size > limit:
            raise TooLarge(f"{where.rsplit('/', 1)[-1]} is larger than {limit:,} bytes", details={"limit": limit})
        digest.update(chunk)
        sink.write(aead.encrypt(_nonce(prefix, number, not following), chunk, aad))
        if not following:
            return Sealed(digest.hexdigest(), size)
        chunk, number = following, number + 1


def open_stream(key: bytes, where: str, source: BinaryIO) -> Iterator[bytes]:
    """The content of a sealed file, chunk by chunk, each checked before it is given."""
    head = source.read(len(MAGIC) + PREFIX)
    if not head.startswith(MAGIC):  # sealed whole (before chunks)
        sealed = head + source.read()
        yield AESGCM(key).decrypt(sealed[:NONCE], sealed[NONCE:], where.encode())
        return
    aead, prefix, aad = AESGCM(key), head[len(MAGIC):], where.encode()
    chunk, number = source.read(CHUNK + TAG), 0
    while True:
        following = source.read(CHUNK + TAG)
        yield aead.decrypt(_nonce(prefix, number, not following), chunk, aad)
        if not following:
            return
        chunk, number = following, number + 1


def _key(session: Session, keys, key_id: str) -> bytes:
    return key_service.unwrap_key(session, keys=keys, key_id=key_id)


def put_sealed_file(session: Session, *, store: ObjectStore, keys, key_id: str, where: str, local: Path,
                    limit: int | None = None) -> Sealed:
    """Seal a file from disk into the store, a chunk at a time; nothing is visible before it is whole."""
    key = _key(session, keys, key_id)
    with tempfile.NamedTemporaryFile(dir=local.parent, prefix=".sealing-", delete=False) as sink:
        try:
            with open(local, "rb") as source:
                sealed = seal_stream(key, where, source, sink, limit=limit)
            sink.close()
            store.put_file(Path(sink.name), where)
        finally:
            if os.path.exists(sink.name):
                os.unlink(sink.name)
    return sealed


def put_sealed(session: Session, *, store: ObjectStore, keys, key_id: str, where: str, content: bytes) -> Sealed:
    import io

    sink = io.BytesIO()
    sealed = seal_stream(_key(session, keys, key_id), where, io.BytesIO(content), sink)
    store.put_bytes(where, sink.getvalue())
    return sealed


def read_sealed(session: Session, *, store: ObjectStore, keys, key_id: str, where: str) -> Iterator[bytes]:
    """The content, chunk by chunk (the key is unwrapped before the first chunk is asked for)."""
    key = _key(session, keys, key_id)
    return _chunks(store, key, where)


def _chunks(store: ObjectStore, key: bytes, where: str) -> Iterator[bytes]:
    with store.reading(where) as source:
        yield from open_stream(key, where, source)


def get_sealed(session: Session, *, store: ObjectStore, keys, key_id: str, where: str) -> bytes:
    return b"".join(read_sealed(session, store=store, keys=keys, key_id=key_id, where=where))


def head_sealed(session: Session, *, store: ObjectStore, keys, key_id: str, where: str, limit: int) -> bytes:
    """At most the first `limit` bytes, decrypting no more chunks than they need."""
    kept, size = [], 0
    for chunk in read_sealed(session, store=store, keys=keys, key_id=key_id, where=where):
        kept.append(chunk[:limit - size])
        size += len(kept[-1])
        if size >= limit:
            break
    return b"".join(kept)

"""KeyManager on a local master key file (embedded default; an HSM in production)."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from bastide.errors import ConfigError, KeyUnavailable
from bastide.keys.base import DATA_KEY_BYTES

NONCE_BYTES = 12


def write_private_file(path: Path, data: bytes) -> None:
    """Create a file readable by its owner only, never readable by others even briefly."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)


def check_private(path: Path, mode: int, what: str) -> None:
    """A secret's file others can read is refused, whatever it holds (KEY-04)."""
    if mode & 0o077:
        raise ConfigError(f"{what} {path} is readable by others: chmod 600 it")


class LocalKeyManager:
    backend = "local"

    def __init__(self, master_key_file: Path):
        self.path = Path(master_key_file)
        self.next_path = self.path.with_name(self.path.name + ".next")  # during a rotation
        self.location = str(self.path)
        self._ciphers: dict[tuple, AESGCM] = {}

    def ensure_master_key(self) -> bool:
        """Create the master key if missing; True if it was created."""
        if self.path.exists() or self.next_path.exists():  # a rotation's next key stands in for it
            return False
        write_private_file(self.path, secrets.token_bytes(DATA_KEY_BYTES))
        return True

    def _cipher(self, path: Path) -> AESGCM:
        try:
            info = path.stat()
        except FileNotFoundError as exc:
            raise ConfigError(f"master key file {path} is missing: run `bastide init`") from exc
        # by file identity: a rotation run by another process replaces the file, not its name
        identity = (path, info.st_ino, info.st_mtime_ns)
        if identity not in self._ciphers:
            check_private(path, info.st_mode, "master key file")
            material = path.read_bytes()
            if len(material) != DATA_KEY_BYTES:
                raise ConfigError(f"master key file {path} is not a 256-bit key")
            self._ciphers[identity] = AESGCM(material)
        return self._ciphers[identity]

    def _current(self) -> Path:
        # during a rotation new keys are wrapped under the next master key: the pass that rewraps
        # the others might not see them, and the old master key is destroyed after it
        return self.next_path if self.next_path.exists() else self.path

    def wrap(self, key_id: str, plaintext: bytes) -> bytes:
        return self._seal(self._current(), key_id, plaintext)

    def _seal(self, path: Path, key_id: str, plaintext: bytes) -> bytes:
        nonce = secrets.token_bytes(NONCE_BYTES)
        return nonce + self._cipher(path).encrypt(nonce, plaintext, key_id.encode())

    def _open(self, path: Path, key_id: str, wrapped: bytes) -> bytes | None:
        try:
            return self._cipher(path).decrypt(wrapped[:NONCE_BYTES], wrapped[NONCE_BYTES:], key_id.encode())
        except InvalidTag:
            return None

    def unwrap(self, key_id: str, wrapped: bytes) -> bytes:
        for path in [p for p in (self.path, self.next_path) if p.exists()] or [self.path]:
            opened = self._open(path, key_id, wrapped)
            if opened is not None:
                return opened
        raise KeyUnavailable(f"data key {key_id} cannot be unwrapped by this master key")

    def begin_rotation(self) -> None:
        if not self.next_path.exists():
            write_private_file(self.next_path, secrets.token_bytes(DATA_KEY_BYTES))

    def rewrap(self, key_id: str, wrapped: bytes) -> bytes:
        if self._open(self.next_path, key_id, wrapped) is not None:  # already done: a later pass finds nothing
            return wrapped
        return self._seal(self.next_path, key_id, self.unwrap(key_id, wrapped))

    def finish_rotation(self) -> bool:
        if not self.next_path.exists():
            return False
        os.replace(self.next_path, self.path)  # one rename: the old key's file is gone with it
        self._ciphers.clear()
        return True

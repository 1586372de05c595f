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


class LocalKeyManager:
    backend = "local"

    def __init__(self, master_key_file: Path):
        self.path = Path(master_key_file)
        self.location = str(self.path)
        self._aead: AESGCM | None = None

    def ensure_master_key(self) -> bool:
        """Create the master key if missing; True if it was created."""
        if self.path.exists():
            return False
        write_private_file(self.path, secrets.token_bytes(DATA_KEY_BYTES))
        return True

    def _cipher(self) -> AESGCM:
        if self._aead is None:
            try:
                material = self.path.read_bytes()
            except FileNotFoundError as exc:
                raise ConfigError(f"master key file {self.path} is missing: run `bastide init`") from exc
            if len(material) != DATA_KEY_BYTES:
                raise ConfigError(f"master key file {self.path} is not a 256-bit key")
            if self.path.stat().st_mode & 0o077:
                raise ConfigError(f"master key file {self.path} is readable by others: chmod 600 it")
            self._aead = AESGCM(material)
        return self._aead

    def wrap(self, key_id: str, plaintext: bytes) -> bytes:
        nonce = secrets.token_bytes(NONCE_BYTES)
        return nonce + self._cipher().encrypt(nonce, plaintext, key_id.encode())

    def unwrap(self, key_id: str, wrapped: bytes) -> bytes:
        try:
            return self._cipher().decrypt(wrapped[:NONCE_BYTES], wrapped[NONCE_BYTES:], key_id.encode())
        except InvalidTag as exc:
            raise KeyUnavailable(f"data key {key_id} cannot be unwrapped by this master key") from exc

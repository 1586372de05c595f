"""Key management: envelope encryption behind one protocol.

A data key (per snapshot, later per workspace) is random AES-256 material that never
touches disk in clear: it is stored *wrapped* by the master key of a KeyManager (a key
file here, an HSM through PKCS#11 in production). Destroying the wrapped copy makes every
byte encrypted under it unreadable: crypto-shredding (KEY-06, EHDS Art. 68(12)).
"""

from __future__ import annotations

from typing import Protocol

# KEY-02: the platform uses AES-256-GCM (data and file keys), Ed25519 (signatures) and
# SHA-256 (hashes, Merkle root) only, all on ANSSI's RGS B1 list.
DATA_KEY_BYTES = 32


class KeyManager(Protocol):
    backend: str

    def wrap(self, key_id: str, plaintext: bytes) -> bytes:
        """Encrypt a data key under the master key, bound to its id."""

    def unwrap(self, key_id: str, wrapped: bytes) -> bytes:
        """Give back the data key; raises KeyUnavailable if it cannot."""

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

    # Rotation (KEY-02: key management per RGS annex B2, which renews keys): a next master key is made, every wrapped key is wrapped again under it,
    # then it replaces the current one, which is destroyed; no data file changes. Each step may be
    # run again after a crash: while both exist, unwrap tries both.
    def begin_rotation(self) -> None:
        """Make the next master key, unless it exists."""

    def rewrap(self, key_id: str, wrapped: bytes) -> bytes:
        """The same key wrapped under the next master key (from under either)."""

    def finish_rotation(self) -> bool:
        """The next master key becomes the current one, the old one is destroyed; False if no
        rotation was under way."""

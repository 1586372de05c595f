"""Parquet modular encryption with the platform's data keys.

pyarrow generates a fresh key per file and asks a `KmsClient` to wrap it; ours wraps
it (AES-256-GCM) with the snapshot's data key, itself wrapped by the master key. So the
chain is master key -> data key -> file key, and destroying the data key shreds the files.
Spark's Parquet writer and reader wrap the same way, through the key broker (broker.py).
"""

from __future__ import annotations

import base64
import secrets
from datetime import timedelta

import pyarrow.dataset as ds
import pyarrow.parquet.encryption as pe
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM


def wrap_file_key(data_key: bytes, key_id: str, file_key: bytes) -> bytes:
    """A file's key sealed with a data key, bound to its id: base64(nonce + AES-256-GCM)."""
    nonce = secrets.token_bytes(12)
    return base64.b64encode(nonce + AESGCM(data_key).encrypt(nonce, file_key, key_id.encode()))


def unwrap_file_key(data_key: bytes, key_id: str, wrapped: bytes) -> bytes:
    raw = base64.b64decode(wrapped)
    try:
        return AESGCM(data_key).decrypt(raw[:12], raw[12:], key_id.encode())
    except InvalidTag:
        raise PermissionError(f"file key does not open with data key {key_id}") from None


class _DataKeyKms(pe.KmsClient):
    def __init__(self, keys: dict[str, bytes]):
        super().__init__()
        self._keys = keys

    def _key(self, key_id: str) -> bytes:
        try:
            return self._keys[key_id]
        except KeyError:
            raise PermissionError(f"data key {key_id} is not available") from None

    def wrap_key(self, key_bytes: bytes, master_key_identifier: str) -> bytes:
        return wrap_file_key(self._key(master_key_identifier), master_key_identifier, key_bytes)

    def unwrap_key(self, wrapped_key: bytes, master_key_identifier: str) -> bytes:
        return unwrap_file_key(self._key(master_key_identifier), master_key_identifier, wrapped_key)


def _factory(keys: dict[str, bytes]) -> pe.CryptoFactory:
    return pe.CryptoFactory(lambda _config: _DataKeyKms(keys))


_CONNECTION = pe.KmsConnectionConfig(kms_instance_id="bastide")


def encryption_properties(key_id: str, key: bytes):
    config = pe.EncryptionConfiguration(
        footer_key=key_id, uniform_encryption=True, encryption_algorithm="AES_GCM_V1",
        double_wrapping=False, data_key_length_bits=256, cache_lifetime=timedelta(minutes=10),
    )
    return _factory({key_id: key}).file_encryption_properties(_CONNECTION, config)


def decryption_properties(keys: dict[str, bytes]):
    return _factory(keys).file_decryption_properties(_CONNECTION, pe.DecryptionConfiguration())


def scan_options(keys: dict[str, bytes]) -> ds.ParquetFragmentScanOptions:
    config = ds.ParquetDecryptionConfig(_factory(keys), _CONNECTION, pe.DecryptionConfiguration())
    return ds.ParquetFragmentScanOptions(decryption_config=config)

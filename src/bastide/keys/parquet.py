"""Parquet modular encryption with the platform's data keys.

pyarrow generates a fresh key per file and asks a `KmsClient` to wrap it; ours wraps
it (AES-256-GCM) with the snapshot's data key, itself wrapped by the master key. So the
chain is master key -> data key -> file key, and destroying the data key shreds the files.
"""

from __future__ import annotations

import base64
import secrets
from datetime import timedelta

import pyarrow.dataset as ds
import pyarrow.parquet.encryption as pe
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM


class _DataKeyKms(pe.KmsClient):
    def __init__(self, keys: dict[str, bytes]):
        super().__init__()
        self._keys = keys

    def _aead(self, key_id: str) -> AESGCM:
        try:
            return AESGCM(self._keys[key_id])
        except KeyError:
            raise PermissionError(f"data key {key_id} is not available") from None

    def wrap_key(self, key_bytes: bytes, master_key_identifier: str) -> bytes:
        nonce = secrets.token_bytes(12)
        sealed = self._aead(master_key_identifier).encrypt(nonce, key_bytes, master_key_identifier.encode())
        return base64.b64encode(nonce + sealed)

    def unwrap_key(self, wrapped_key: bytes, master_key_identifier: str) -> bytes:
        raw = base64.b64decode(wrapped_key)
        try:
            return self._aead(master_key_identifier).decrypt(raw[:12], raw[12:], master_key_identifier.encode())
        except InvalidTag:
            raise PermissionError(f"file key does not open with data key {master_key_identifier}") from None


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

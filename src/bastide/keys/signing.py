"""The platform's Ed25519 signing key: manifests are signed so a data holder can check them."""

from __future__ import annotations

import base64
import json
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from bastide.errors import ConfigError
from bastide.keys.local import write_private_file


class Signer:
    def __init__(self, path: Path):
        self.path = Path(path)
        self.location = str(self.path)
        self._key: Ed25519PrivateKey | None = None

    def ensure_key(self) -> bool:
        if self.path.exists():
            return False
        self.import_key(Ed25519PrivateKey.generate())
        return True

    def _private(self) -> Ed25519PrivateKey:
        if self._key is None:
            try:
                key = serialization.load_pem_private_key(self.path.read_bytes(), password=None)
            except FileNotFoundError as exc:
                raise ConfigError(f"signing key {self.path} is missing: run `bastide init`") from exc
            if not isinstance(key, Ed25519PrivateKey):
                raise ConfigError(f"signing key {self.path} is not an Ed25519 key")
            self._key = key
        return self._key

    def sign(self, data: bytes) -> bytes:
        return self._private().sign(data)

    def private_key(self) -> Ed25519PrivateKey:
        """The key itself, for a migration that gives it to the target (a file or an HSM)."""
        return self._private()

    def import_key(self, key: Ed25519PrivateKey) -> None:
        """Take the platform's signing key (a migration's target): written 0600, never replaced."""
        if self.path.exists():
            raise ConfigError(f"signing key {self.path} exists already: it is not replaced")
        write_private_file(self.path, key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                        serialization.NoEncryption()))
        self._key = None

    def public_pem(self) -> str:
        return (
            self._private()
            .public_key()
            .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
            .decode()
        )


def signature_valid(public_pem: str, data: bytes, signature: bytes) -> bool:
    key = serialization.load_pem_public_key(public_pem.encode())
    if not isinstance(key, Ed25519PublicKey):
        return False
    try:
        key.verify(signature, data)
    except InvalidSignature:
        return False
    return True


# -- signed documents (permits, release records): canonical JSON, its Ed25519 signature, the key ---

def canonical(document: dict) -> bytes:
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def sign_document(signer: Signer, document: dict) -> tuple[bytes, str]:
    """The document's canonical bytes and their base64 signature."""
    body = canonical(document)
    return body, base64.b64encode(signer.sign(body)).decode()


def document_file(document: dict, signature: str, public_pem: str) -> str:
    """What a holder keeps: the document, its signature and the key it was signed with (to check
    against the platform's published key, not to trust on its own)."""
    return json.dumps({"document": document, "signature": signature, "public_key": public_pem},
                      indent=2, ensure_ascii=False) + "\n"


class BadSignature(ValueError):
    """The file is not a signed document, or its signature does not hold."""


def verify_document(text: str, *, public_pem: str, format: str) -> dict:
    """The document if `text` is a signed document of `format` whose signature holds under `public_pem`."""
    try:
        data = json.loads(text)
        body, signature = canonical(data["document"]), base64.b64decode(data["signature"])
        declared = data["document"].get("format")
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise BadSignature(f"not a signed {format} document: {exc}") from exc
    if declared != format or not signature_valid(public_pem, body, signature):
        raise BadSignature("the signature does not match the content: it was altered or not issued by this platform")
    return data["document"]

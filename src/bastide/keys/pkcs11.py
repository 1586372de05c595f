"""The master key and the signing key in a hardware security module, through PKCS#11 (KEY-*, SOV-*).

Both are made in the token, sensitive and not extractable: they never leave it. A data key is
wrapped by the token (AES-256-GCM, its id as associated data: the same layout as the key file's,
nonce then ciphertext and tag) and unwrapped by it; documents are signed by it (EdDSA on Ed25519)
and checked offline with its public key, as the key file's signatures are. Tested against
SoftHSM2; a production HSM is the same calls with its own module, token and PIN.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import threading
from contextlib import contextmanager
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from bastide.errors import ConfigError, KeyUnavailable
from bastide.keys.base import DATA_KEY_BYTES

NONCE_BYTES = 12
ED25519_OID = "1.3.101.112"  # RFC 8410
MASTER_LABEL, SIGNING_LABEL = "bastide-master", "bastide-signing"


def _pkcs11():
    try:  # a compiled wheel: loaded only by a platform that uses an HSM
        import pkcs11
        import pkcs11.mechanisms  # GCMParams
        import pkcs11.util.ec  # the curve's parameters
    except ImportError as exc:
        raise ConfigError("BASTIDE_KEY_BACKEND=pkcs11 needs python-pkcs11: pip install 'bastide[hsm]'") from exc
    return pkcs11


class Token:
    """One logged-in session per process (python-pkcs11 sessions are not thread-safe: a lock), opened
    at first use and again after a fork or a failure (a token pulled out and put back)."""

    def __init__(self, module: Path, label: str, pin_file: Path | None):
        self.module, self.label, self.pin_file = Path(module), label, pin_file
        self._session, self._pid, self._lock = None, None, threading.Lock()

    def uri(self, object_label: str) -> str:
        return f"pkcs11:token={self.label};object={object_label}"  # RFC 7512's form

    def _pin(self) -> str:
        if self.pin_file is None:
            raise ConfigError("the HSM's PIN is read from a file: set BASTIDE_PKCS11_PIN_FILE")
        try:
            if Path(self.pin_file).stat().st_mode & 0o077:
                raise ConfigError(f"PIN file {self.pin_file} is readable by others: chmod 600 it")
            return Path(self.pin_file).read_text().strip()
        except FileNotFoundError as exc:
            raise ConfigError(f"PIN file {self.pin_file} is missing (BASTIDE_PKCS11_PIN_FILE)") from exc

    def _open(self):
        pkcs11 = _pkcs11()
        if not self.module.exists():
            raise ConfigError(f"PKCS#11 module {self.module} not found: install the HSM's library "
                              "(apt-get install softhsm2 for SoftHSM2) or set BASTIDE_PKCS11_MODULE")
        try:
            token = pkcs11.lib(str(self.module)).get_token(token_label=self.label)
        except pkcs11.NoSuchToken as exc:
            raise ConfigError(f"no token labelled {self.label!r} in {self.module} (BASTIDE_PKCS11_TOKEN_LABEL)") from exc
        try:
            return token.open(user_pin=self._pin(), rw=True)
        except pkcs11.PinIncorrect as exc:
            raise ConfigError(f"the token {self.label!r} refused the PIN in {self.pin_file}") from exc
        except pkcs11.PinLocked as exc:
            raise ConfigError(f"the token {self.label!r} has locked its PIN: its security officer must unlock it") from exc

    @contextmanager
    def session(self):
        """The open session, under the lock; a PKCS#11 failure closes it (the next call reopens) and
        is a KeyUnavailable naming the token, never a traceback."""
        pkcs11 = _pkcs11()
        with self._lock:
            if self._session is None or self._pid != os.getpid():
                self._session, self._pid = self._open(), os.getpid()
            try:
                yield self._session
            except pkcs11.PKCS11Error as exc:
                self._forget()
                raise KeyUnavailable(f"the HSM token {self.label!r} failed: {type(exc).__name__} {exc}".strip()) from exc

    def _forget(self) -> None:
        session, self._session = self._session, None
        with contextlib.suppress(Exception):  # a session on a removed token may not close: dropped all the same
            session.close()

    def find(self, session, object_class, label: str):
        pkcs11 = _pkcs11()
        try:
            return session.get_key(object_class=object_class, label=label)
        except pkcs11.NoSuchKey:
            return None

    def close(self) -> None:
        with self._lock:
            if self._session is not None and self._pid == os.getpid():
                self._forget()
            self._session = None


class Pkcs11KeyManager:
    backend = "pkcs11"

    def __init__(self, token: Token, label: str = MASTER_LABEL):
        self.token, self.label = token, label
        self.location = token.uri(label)

    def ensure_master_key(self) -> bool:
        """Make the master key in the token if it holds none; True if it was made."""
        pkcs11 = _pkcs11()
        with self.token.session() as session:
            if self.token.find(session, pkcs11.ObjectClass.SECRET_KEY, self.label) is not None:
                return False
            session.generate_key(pkcs11.KeyType.AES, DATA_KEY_BYTES * 8, label=self.label, store=True,
                                 template={pkcs11.Attribute.SENSITIVE: True, pkcs11.Attribute.EXTRACTABLE: False})
            return True

    def _master(self, session):
        pkcs11 = _pkcs11()
        key = self.token.find(session, pkcs11.ObjectClass.SECRET_KEY, self.label)
        if key is None:
            raise ConfigError(f"the token holds no master key {self.location}: run `bastide init`")
        return key

    def wrap(self, key_id: str, plaintext: bytes) -> bytes:
        pkcs11 = _pkcs11()
        nonce = secrets.token_bytes(NONCE_BYTES)
        with self.token.session() as session:
            sealed = self._master(session).encrypt(
                plaintext, mechanism=pkcs11.Mechanism.AES_GCM,
                mechanism_param=pkcs11.mechanisms.GCMParams(nonce, key_id.encode(), 128))
        return nonce + sealed

    def unwrap(self, key_id: str, wrapped: bytes) -> bytes:
        pkcs11 = _pkcs11()
        try:
            with self.token.session() as session:
                return self._master(session).decrypt(
                    wrapped[NONCE_BYTES:], mechanism=pkcs11.Mechanism.AES_GCM,
                    mechanism_param=pkcs11.mechanisms.GCMParams(wrapped[:NONCE_BYTES], key_id.encode(), 128))
        except KeyUnavailable as exc:  # SoftHSM2 says only "general error" for a tag that does not hold
            raise KeyUnavailable(f"data key {key_id} cannot be unwrapped by the master key {self.location}") from exc


class Pkcs11Signer:
    def __init__(self, token: Token, label: str = SIGNING_LABEL):
        self.token, self.label = token, label
        self.location = token.uri(label)
        self._public: str | None = None

    def ensure_key(self) -> bool:
        pkcs11 = _pkcs11()
        with self.token.session() as session:
            if self.token.find(session, pkcs11.ObjectClass.PRIVATE_KEY, self.label) is not None:
                return False
            session.generate_keypair(
                pkcs11.KeyType.EC_EDWARDS, mechanism=pkcs11.Mechanism.EC_EDWARDS_KEY_PAIR_GEN, store=True,
                label=self.label, public_template={pkcs11.Attribute.EC_PARAMS: pkcs11.util.ec.encode_named_curve_parameters(ED25519_OID)},
                private_template={pkcs11.Attribute.SENSITIVE: True, pkcs11.Attribute.EXTRACTABLE: False})
            return True

    def _key(self, session, object_class):
        key = self.token.find(session, object_class, self.label)
        if key is None:
            raise ConfigError(f"the token holds no signing key {self.location}: run `bastide init`")
        return key

    def sign(self, data: bytes) -> bytes:
        pkcs11 = _pkcs11()
        with self.token.session() as session:
            return self._key(session, pkcs11.ObjectClass.PRIVATE_KEY).sign(data, mechanism=pkcs11.Mechanism.EDDSA)

    def public_pem(self) -> str:
        if self._public is None:
            pkcs11 = _pkcs11()
            with self.token.session() as session:
                point = self._key(session, pkcs11.ObjectClass.PUBLIC_KEY)[pkcs11.Attribute.EC_POINT]
            raw = point[2:] if len(point) == 34 else point  # a DER OCTET STRING (04 20 …) or the 32 bytes
            self._public = Ed25519PublicKey.from_public_bytes(bytes(raw)).public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
        return self._public

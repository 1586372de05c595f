"""The master key and the signing key in a hardware security module, through PKCS#11 (KEY-04:
keys in a security container; KEY-08: under the operator's control).

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
from bastide.keys.local import check_private

NONCE_BYTES = 12
ED25519_OID = "1.3.101.112"  # RFC 8410


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
            check_private(self.pin_file, Path(self.pin_file).stat().st_mode, "PIN file")
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
            return token.open(user_pin=self._pin(), rw=True)
        except pkcs11.NoSuchToken as exc:
            raise ConfigError(f"no token labelled {self.label!r} in {self.module} (BASTIDE_PKCS11_TOKEN_LABEL)") from exc
        except pkcs11.PinIncorrect as exc:
            raise ConfigError(f"the token {self.label!r} refused the PIN in {self.pin_file}") from exc
        except pkcs11.PinLocked as exc:
            raise ConfigError(f"the token {self.label!r} has locked its PIN: its security officer must unlock it") from exc
        except pkcs11.PKCS11Error as exc:  # a token being removed or put back: the next call tries again
            raise KeyUnavailable(f"the HSM token {self.label!r} cannot be opened (removed, or not ready): "
                                 f"{type(exc).__name__} {exc}".strip() + "; the next operation tries again") from exc

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

    def drop(self) -> None:
        """Close the session (called inside `session()`): the next call opens a new one, which
        sees a token put back."""
        self._forget()

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


_SHARED: dict[tuple, Token] = {}
_SHARED_LOCK = threading.Lock()


def shared_token(module: Path, label: str, pin_file: Path | None) -> Token:
    """One Token per token and PIN file in a process: PKCS#11 logs an application in, not a session
    (a second login is refused with CKR_USER_ALREADY_LOGGED_IN, a logout ends every session's)."""
    with _SHARED_LOCK:
        return _SHARED.setdefault((Path(module), label, pin_file), Token(module, label, pin_file))


def close_all() -> None:
    """Log this process out of every token (each reopens at its next use)."""
    with _SHARED_LOCK:
        tokens = list(_SHARED.values())
    for token in tokens:
        token.close()


class Pkcs11KeyManager:
    backend = "pkcs11"

    def __init__(self, token: Token, label: str):
        self.token, self.label, self.next_label = token, label, f"{label}-next"
        self.location = token.uri(label)

    def ensure_master_key(self) -> bool:
        """Make the master key in the token if it holds none; True if it was made."""
        with self.token.session() as session:
            if self._key(session, self.label) is not None or self._key(session, self.next_label) is not None:
                return False
            self._generate(session, self.label)
            return True

    def _key(self, session, label: str):
        return self.token.find(session, _pkcs11().ObjectClass.SECRET_KEY, label)

    def _present(self, session) -> list:
        """The master keys the token holds: the current one, and the next one during a rotation."""
        keys = [k for k in (self._key(session, self.label), self._key(session, self.next_label)) if k is not None]
        if not keys:  # the token was there at start-up (init made the key): removed, or another one now
            self.token.drop()
            raise KeyUnavailable(f"the HSM token {self.token.label!r} shows no master key {self.location}: was the "
                                 "HSM removed or replaced? Nothing can be unwrapped until it is back (the next "
                                 "operation looks again); never `bastide init` on a platform that holds data")
        return keys

    def _seal(self, key, key_id: str, plaintext: bytes) -> bytes:
        pkcs11 = _pkcs11()
        nonce = secrets.token_bytes(NONCE_BYTES)
        return nonce + key.encrypt(plaintext, mechanism=pkcs11.Mechanism.AES_GCM,
                                   mechanism_param=pkcs11.mechanisms.GCMParams(nonce, key_id.encode(), 128))

    def _open(self, key, key_id: str, wrapped: bytes) -> bytes | None:
        pkcs11 = _pkcs11()
        try:
            return key.decrypt(wrapped[NONCE_BYTES:], mechanism=pkcs11.Mechanism.AES_GCM,
                               mechanism_param=pkcs11.mechanisms.GCMParams(wrapped[:NONCE_BYTES], key_id.encode(), 128))
        except (pkcs11.GeneralError, pkcs11.EncryptedDataInvalid, pkcs11.EncryptedDataLenRange):
            return None  # SoftHSM2 says only "general error" for a tag that does not hold

    def wrap(self, key_id: str, plaintext: bytes) -> bytes:
        with self.token.session() as session:
            # during a rotation new keys go under the next master key (the rewrap pass may not see them)
            return self._seal(self._present(session)[-1], key_id, plaintext)

    def _unwrapped(self, session, key_id: str, wrapped: bytes) -> bytes:
        for key in self._present(session):
            opened = self._open(key, key_id, wrapped)
            if opened is not None:
                return opened
        raise KeyUnavailable(f"data key {key_id} cannot be unwrapped by the master key {self.location}")

    def unwrap(self, key_id: str, wrapped: bytes) -> bytes:
        with self.token.session() as session:
            return self._unwrapped(session, key_id, wrapped)

    def _generate(self, session, label: str) -> None:
        pkcs11 = _pkcs11()
        session.generate_key(pkcs11.KeyType.AES, DATA_KEY_BYTES * 8, label=label, store=True,
                             template={pkcs11.Attribute.SENSITIVE: True, pkcs11.Attribute.EXTRACTABLE: False})

    def begin_rotation(self) -> None:
        with self.token.session() as session:
            if self._key(session, self.next_label) is None:
                self._generate(session, self.next_label)

    def rewrap(self, key_id: str, wrapped: bytes) -> bytes:
        with self.token.session() as session:
            following = self._key(session, self.next_label)
            if following is None:
                raise ConfigError("no rotation of the master key is under way: begin it first")
            if self._open(following, key_id, wrapped) is not None:  # already done: a later pass finds nothing
                return wrapped
            return self._seal(following, key_id, self._unwrapped(session, key_id, wrapped))

    def finish_rotation(self) -> bool:
        pkcs11 = _pkcs11()
        with self.token.session() as session:
            following = self._key(session, self.next_label)
            if following is None:
                return False
            current = self._key(session, self.label)
            if current is not None:
                current.destroy()  # in the token: no copy of it exists anywhere
            following[pkcs11.Attribute.LABEL] = self.label
            return True


class Pkcs11Signer:
    def __init__(self, token: Token, label: str):
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

    def import_key(self, key) -> None:
        """Put the platform's signing key (from a key file, a migration) in the token, where it
        becomes like one made there: sensitive, never extractable. Never replaces a key."""
        pkcs11 = _pkcs11()
        a = pkcs11.Attribute
        params = pkcs11.util.ec.encode_named_curve_parameters(ED25519_OID)
        raw = key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                                serialization.NoEncryption())
        public = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        with self.token.session() as session:
            if self.token.find(session, pkcs11.ObjectClass.PRIVATE_KEY, self.label) is not None:
                raise ConfigError(f"the token holds a signing key {self.location} already: it is not replaced")
            common = {a.KEY_TYPE: pkcs11.KeyType.EC_EDWARDS, a.EC_PARAMS: params, a.LABEL: self.label, a.TOKEN: True}
            session.create_object({**common, a.CLASS: pkcs11.ObjectClass.PUBLIC_KEY, a.VERIFY: True,
                                   a.EC_POINT: b"\x04\x20" + public})  # a DER OCTET STRING of the point
            session.create_object({**common, a.CLASS: pkcs11.ObjectClass.PRIVATE_KEY, a.PRIVATE: True, a.SIGN: True,
                                   a.SENSITIVE: True, a.EXTRACTABLE: False, a.VALUE: raw})
        self._public = None

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

import stat
import uuid

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from bastide.errors import ConfigError, KeyUnavailable
from bastide.keys.local import LocalKeyManager
from bastide.keys.parquet import decryption_properties, encryption_properties
from bastide.keys.pkcs11 import Pkcs11KeyManager, Pkcs11Signer, shared_token
from bastide.keys.signing import Signer, signature_valid


@pytest.fixture(params=["local", "pkcs11"])
def backend(request, tmp_path):
    """A fresh master key and signing key on each backend: a key file, or an HSM's token (SoftHSM2;
    fresh labels in the test process's token)."""
    if request.param == "local":
        yield LocalKeyManager(tmp_path / "k" / "master.key"), Signer(tmp_path / "k" / "signing.pem")
        return
    hsm = request.getfixturevalue("hsm")
    token = shared_token(hsm["pkcs11_module"], hsm["pkcs11_token_label"], hsm["pkcs11_pin_file"])
    tag = uuid.uuid4().hex[:8]
    yield Pkcs11KeyManager(token, label=f"master-{tag}"), Pkcs11Signer(token, label=f"signing-{tag}")
    token.close()


def test_the_master_key_is_made_once_and_wraps_bound_to_the_key_id(backend):  # KEY-01, KEY-04
    km, _ = backend
    assert km.ensure_master_key() and not km.ensure_master_key()
    wrapped = km.wrap("dk-1", b"x" * 32)
    assert len(wrapped) == 12 + 32 + 16 and b"x" * 32 not in wrapped  # nonce, ciphertext, tag
    assert km.unwrap("dk-1", wrapped) == b"x" * 32
    assert km.wrap("dk-1", b"x" * 32) != wrapped  # a fresh nonce each time
    with pytest.raises(KeyUnavailable, match="dk-2"):  # the id is bound to the wrapped key
        km.unwrap("dk-2", wrapped)
    with pytest.raises(KeyUnavailable):  # a flipped byte
        km.unwrap("dk-1", wrapped[:-1] + bytes([wrapped[-1] ^ 1]))


def test_signatures_are_checked_offline_with_the_public_key_alone(backend):  # KEY-02
    _, signer = backend
    assert signer.ensure_key() and not signer.ensure_key()
    sig = signer.sign(b"manifest")
    assert len(sig) == 64 and signature_valid(signer.public_pem(), b"manifest", sig)  # Ed25519 either way
    assert not signature_valid(signer.public_pem(), b"manifesT", sig)


def test_the_key_file_is_private(tmp_path):  # KEY-04
    km = LocalKeyManager(tmp_path / "k" / "master.key")
    km.ensure_master_key()
    assert stat.S_IMODE(km.path.stat().st_mode) == 0o600


def test_master_key_readable_by_others_is_refused(tmp_path):
    km = LocalKeyManager(tmp_path / "master.key")
    km.ensure_master_key()
    km.path.chmod(0o644)
    with pytest.raises(ConfigError, match="chmod 600"):
        km.wrap("dk", b"k")


def test_parquet_is_unreadable_without_its_key(tmp_path):  # KEY-01
    path = tmp_path / "x.parquet"
    key = b"k" * 32
    pq.write_table(pa.table({"a": [1, 2]}), path, encryption_properties=encryption_properties("dk-a", key))
    assert pq.read_table(path, decryption_properties=decryption_properties({"dk-a": key}))["a"].to_pylist() == [1, 2]
    with pytest.raises(OSError):
        pq.read_table(path)
    with pytest.raises(OSError, match="does not open with data key dk-a"):  # our KMS refuses the wrong key
        pq.read_table(path, decryption_properties=decryption_properties({"dk-a": b"z" * 32}))

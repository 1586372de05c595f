import stat

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from bastide.errors import ConfigError, KeyUnavailable
from bastide.keys.local import LocalKeyManager
from bastide.keys.parquet import decryption_properties, encryption_properties
from bastide.keys.signing import Signer, signature_valid


def test_master_key_file_is_private_and_wraps(tmp_path):  # KEY-04
    km = LocalKeyManager(tmp_path / "k" / "master.key")
    assert km.ensure_master_key() and not km.ensure_master_key()
    assert stat.S_IMODE(km.path.stat().st_mode) == 0o600
    wrapped = km.wrap("dk-1", b"x" * 32)
    assert km.unwrap("dk-1", wrapped) == b"x" * 32
    with pytest.raises(KeyUnavailable):  # the id is bound to the wrapped key
        km.unwrap("dk-2", wrapped)


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


def test_signature_round_trip(tmp_path):
    signer = Signer(tmp_path / "s.pem")
    signer.ensure_key()
    sig = signer.sign(b"manifest")
    assert signature_valid(signer.public_pem(), b"manifest", sig)
    assert not signature_valid(signer.public_pem(), b"manifesT", sig)

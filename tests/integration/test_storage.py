import pytest

from bastide.config import Settings
from bastide.errors import InvalidInput, StorageError
from bastide.storage import open_store


@pytest.fixture
def store(tmp_path, store_settings):
    s = open_store(Settings(home=tmp_path, **store_settings))
    s.check()
    return s


def test_put_get_list_hash_delete(store, tmp_path):
    local = tmp_path / "f.bin"
    local.write_bytes(b"hello" * 1000)
    store.put_file(local, "base/d/r/T/part-0.parquet")
    store.put_bytes("base/d/r/MANIFEST.json", b"{}")
    assert store.get_bytes("base/d/r/MANIFEST.json") == b"{}"
    assert [o.key for o in store.list("base/d/r")] == ["base/d/r/MANIFEST.json", "base/d/r/T/part-0.parquet"]
    digest, size = store.sha256("base/d/r/T/part-0.parquet")
    assert size == 5000 and len(digest) == 64
    assert store.exists("base/d/r/MANIFEST.json")
    store.delete("base/d/r/MANIFEST.json")
    assert not store.exists("base/d/r/MANIFEST.json")
    assert store.delete_prefix("base/d/r") == 1
    assert store.list("base/d/r") == []


def test_missing_object_and_bad_key(store):
    with pytest.raises(StorageError):
        store.get_bytes("nothing/here")
    with pytest.raises(InvalidInput):
        store.path("../escape")


def test_unreachable_s3_is_a_clear_error(tmp_path):
    s = open_store(Settings(home=tmp_path, store_url="s3://b/p", s3_endpoint="http://127.0.0.1:9",
                            s3_access_key="a", s3_secret_key="b"))
    with pytest.raises(StorageError, match="store"):
        s.check()

"""The store fails in the middle of an ingest: a clear error, nothing visible, nothing lost."""

from __future__ import annotations

import os
import subprocess

import pytest

from bastide.base.ingest import IngestRequest, ingest
from bastide.base.verify import verify_snapshot
from bastide.catalogue import service as catalogue
from bastide.errors import NotFound, StorageError
from tests.conftest import make_platform
from tests.services import S3_ACCESS, S3_SECRET, CuttableProxy


def _nothing_visible(platform, ref: str) -> None:
    with platform.db.unit_of_work() as s, pytest.raises(NotFound):
        catalogue.get_snapshot(s, ref)


def test_s3_unreachable_mid_ingest(tmp_path, s3_server, delivery, actor):
    server, _endpoint = s3_server
    proxy = CuttableProxy(server.port)
    platform = make_platform(tmp_path, store_url=f"s3://{server.fresh_prefix()}/bastide", s3_endpoint=f"http://127.0.0.1:{proxy.port}",
                             s3_access_key=S3_ACCESS, s3_secret_key=S3_SECRET)
    written = []

    def progress(event, info):
        if event == "file":
            written.append(info)
            if len(written) == 3:
                proxy.cut()

    with pytest.raises(StorageError, match="store"):
        ingest(platform, actor=actor, request=IngestRequest(str(delivery), "snds", "r1"), progress=progress)
    assert len(written) >= 3
    _nothing_visible(platform, "snds@r1")
    platform.close()
    import gc

    gc.collect()  # sockets of the cut connections are closed here, inside this test


@pytest.fixture
def tiny_volume(tmp_path):
    """A real 1 MB filesystem (tmpfs) for the store, so the disk really fills up."""
    mount = tmp_path / "small"
    mount.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root (CI runs as root)")
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount)], check=True)
    yield mount
    subprocess.run(["umount", str(mount)], check=True)


def test_store_full_mid_ingest_loses_nothing_published(tmp_path, tiny_volume, delivery, small_delivery, actor):
    platform = make_platform(tmp_path, store_url=str(tiny_volume))
    kept = tmp_path / "kept"
    kept.mkdir()
    (kept / "KI_CCI_R").mkdir()
    (kept / "KI_CCI_R" / "KI_CCI_R.csv").write_bytes((small_delivery / "KI_CCI_R" / "KI_CCI_R.csv").read_bytes())
    ingest(platform, actor=actor, request=IngestRequest(str(kept), "snds", "small"))
    with pytest.raises(StorageError, match="No space left|space"):
        ingest(platform, actor=actor, request=IngestRequest(str(delivery), "snds", "big"))
    _nothing_visible(platform, "snds@big")
    assert platform.store.list("base/snds/big") == []  # its partial files were cleared
    assert verify_snapshot(platform, actor=actor, ref="snds@small").ok
    platform.close()

"""A platform whose keys live in an HSM (issue 17, item 1; KEY-04: keys in a security container;
KEY-08): `BASTIDE_KEY_BACKEND=pkcs11` on SoftHSM2, and nothing else changes — ingest wraps the snapshot's data key in the token and
reads the files back through it, the manifest and the audit checkpoints are signed by it and hold
under its public key alone, and no key file is ever written."""

from __future__ import annotations

from bastide.audit import checkpoints
from bastide.base import manifest
from bastide.base.ingest import IngestRequest, ingest
from bastide.base.verify import verify_snapshot
from bastide.catalogue import service as catalogue
from bastide.keys import service as key_service
from bastide.keys.signing import signature_valid
from bastide.platform import operator_actor
from tests.conftest import make_platform


def test_a_platform_with_its_keys_in_the_hsm_ingests_verifies_and_signs(tmp_path, hsm, tiny_delivery):
    platform = make_platform(tmp_path, **hsm, pkcs11_key_label=tmp_path.name)  # keys of its own in the token
    try:
        assert platform.keys.backend == "pkcs11" and platform.keys.location.startswith("pkcs11:token=")
        ingest(platform, actor=operator_actor(), request=IngestRequest(str(tiny_delivery), "snds", "2024-12"))
        report = verify_snapshot(platform, actor=operator_actor(), ref="snds@2024-12")
        assert report.ok and report.signature_ok
        with platform.db.unit_of_work() as s:
            snapshot = catalogue.get_snapshot(s, "snds@2024-12")
            assert len(key_service.unwrap_key(s, keys=platform.keys, key_id=snapshot.key_id)) == 32
            made = checkpoints.checkpoint(s, signer=platform.signer)
        public = platform.signer.public_pem()
        with platform.db.unit_of_work() as s:
            assert checkpoints.against(s, checkpoints.imported(checkpoints.export([made], public)),
                                       public_pem=public).ok
        assert not (tmp_path / "home" / "keys").exists()  # no key file, ever
        signed = platform.store.get_bytes(f"{snapshot.prefix}/{manifest.MANIFEST}")
        signature = platform.store.get_bytes(f"{snapshot.prefix}/{manifest.SIGNATURE}")
        assert signature_valid(public, signed, signature)  # what a data holder checks, offline
    finally:
        platform.close()

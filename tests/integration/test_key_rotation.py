"""Rotating the master key (issue 17, item 1; KEY-02 key renewal, KEY-08): a new master key, every data key and
second-factor secret wrapped again under it, the old one destroyed, no data file rewritten — on
the key file and in the HSM, on SQLite and on PostgreSQL; an interrupted rotation runs again."""

from __future__ import annotations

import hashlib
import uuid
from datetime import date, timedelta
from urllib.parse import parse_qs, urlparse

import pyotp
import pytest
from sqlalchemy import select

from bastide.audit.actions import AuditAction
from bastide.audit.models import AuditEvent
from bastide.audit.service import record, verify_chain
from bastide.base.ingest import IngestRequest, ingest
from bastide.base.verify import verify_snapshot
from bastide.catalogue import service as catalogue
from bastide.errors import KeyUnavailable
from bastide.identity import service as identity
from bastide.keys import rotation
from bastide.keys import service as key_service
from bastide.keys.models import DataKey
from bastide.keys.rotation import rotate_master_key
from bastide.platform import Platform, operator_actor
from tests.conftest import _fresh_postgres_db, make_platform


@pytest.fixture(params=["local+sqlite", "pkcs11+postgresql"])
def keyed(request, tmp_path, tiny_delivery):
    """A platform with a snapshot and a person enrolled in MFA, its keys in a file or in the HSM."""
    backend, database = request.param.split("+")
    settings = {}
    if backend == "pkcs11":
        settings = {**request.getfixturevalue("hsm"), "pkcs11_key_label": f"rot-{uuid.uuid4().hex[:8]}"}
    if database == "postgresql":
        settings["database_url"] = _fresh_postgres_db(request.getfixturevalue("postgres_server"))
    platform = make_platform(tmp_path, **settings)
    ingest(platform, actor=operator_actor(), request=IngestRequest(str(tiny_delivery), "snds", "2024-12"))
    with platform.db.unit_of_work() as s:
        org = identity.create_organisation(s, actor=operator_actor(), name="Lab", sector="public")
        user = identity.create_user(s, actor=operator_actor(), email="ana@lab.example", name="Ana", organisation=org,
                                    roles={"researcher"}, end_of_rights=date.today() + timedelta(days=30))
        enrolment = identity.enrol_mfa(s, keys=platform.keys, actor=operator_actor(), user=user)
    platform.totp = pyotp.TOTP(parse_qs(urlparse(enrolment.uri).query)["secret"][0])
    yield platform
    platform.close()


def _wrapped(platform) -> dict[str, bytes]:
    with platform.db.unit_of_work() as s:
        rows = {k.id: k.wrapped for k in s.execute(select(DataKey)).scalars() if k.wrapped}
        rows["totp"] = identity.get_user(s, "ana@lab.example").mfa_secret_wrapped
    return rows


def _files(platform) -> dict[str, str]:
    return {o.key: hashlib.sha256(platform.store.get_bytes(o.key)).hexdigest() for o in platform.store.list("base/")}


def test_every_key_is_wrapped_again_the_old_master_is_gone_and_no_file_changed(keyed):
    platform = keyed
    before, files = _wrapped(platform), _files(platform)
    with platform.db.unit_of_work() as s:
        snapshot_key = catalogue.get_snapshot(s, "snds@2024-12").key_id
        material = key_service.unwrap_key(s, keys=platform.keys, key_id=snapshot_key)
    done = rotate_master_key(platform, actor=operator_actor())
    assert done.data_keys == len(before) - 1 and done.secrets == 1
    after = _wrapped(platform)
    assert set(after) == set(before) and all(after[k] != before[k] for k in before)
    with platform.db.unit_of_work() as s:  # the same data key, from under the new master key
        assert key_service.unwrap_key(s, keys=platform.keys, key_id=snapshot_key) == material
        user = identity.get_user(s, "ana@lab.example")  # the second factor still works
        identity.confirm_mfa(s, keys=platform.keys, actor=operator_actor(), user=user, code=platform.totp.now())
    with pytest.raises(KeyUnavailable):  # what the old master key wrapped opens no more: it is destroyed
        platform.keys.unwrap(snapshot_key, before[snapshot_key])
    assert _files(platform) == files  # no data file rewritten
    report = verify_snapshot(platform, actor=operator_actor(), ref="snds@2024-12")
    assert report.ok and report.signature_ok
    with platform.db.unit_of_work() as s:
        rotations = s.execute(select(AuditEvent).where(AuditEvent.action == "key:rotate")).scalars().all()
        assert [e.details.get("finished") for e in rotations] == [None, True] and verify_chain(s).ok


def test_a_rotation_interrupted_after_its_rewrap_runs_again_and_nothing_is_lost(keyed, tmp_path):
    """Killed after the keys were rewrapped but before the old master key went: both master keys
    are in place, every key still opens (in a new process: a new platform), and the rotation run
    again finishes it."""
    platform = keyed
    platform.keys.begin_rotation()
    with platform.db.unit_of_work() as s:  # the first pass, as rotate_master_key makes it, then the crash
        changed, _ = rotation._rewrap_pass(s, platform.keys)
        record(s, actor=operator_actor(), action=AuditAction.KEY_ROTATE, target="key:master", details={"pass": 1})
    assert changed == len(_wrapped(platform))
    again = Platform(platform.settings)
    try:
        assert all(again.keys.unwrap(k, w) for k, w in _wrapped(again).items() if k != "totp")
        new = again.keys.wrap("dk-new", b"n" * 32)  # written meanwhile: under the next master key
        done = rotate_master_key(again, actor=operator_actor())
        assert done.secrets == 1 and not again.keys.finish_rotation()  # finished: nothing under way
        assert all(again.keys.unwrap(k, w) for k, w in _wrapped(again).items() if k != "totp")
        assert again.keys.unwrap("dk-new", new) == b"n" * 32
    finally:
        again.close()

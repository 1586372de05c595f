"""Attacks on backups (issue 17, item 2; KEY-07 backups leave the perimeter encrypted, RES-01):
what the backup site's operator sees, and what a changed, swapped or foreign backup does on
restore — every one is caught before the platform's database is written."""

from __future__ import annotations

import base64
import json
import shutil
from pathlib import Path

import pytest

from bastide.backup import service as backup
from bastide.backup.repository import Repository
from bastide.config import Settings
from bastide.errors import IntegrityError, KeyUnavailable
from bastide.keys.local import LocalKeyManager
from bastide.keys.signing import Signer
from bastide.platform import Platform, operator_actor
from bastide.storage import store_at
from tests.integration.test_backup import copy_keys


def _target(source: Platform, home: Path, *, same_keys: bool = True) -> Platform:
    if same_keys:
        copy_keys(source, home)
    return Platform(Settings(home=home, env="test"))


def _manifest(repo: Path) -> tuple[Path, dict]:
    """The backup's manifest file: {"document", "signature", "public_key"}."""
    path = next((repo / "backups").glob("*.json"))
    return path, json.loads(path.read_text())


def test_the_backup_site_sees_no_content_and_no_key(backed_up):
    """KEY-07: nothing of the metadata (an e-mail), of a store object (a snapshot's manifest) or
    of a key (the repository's, the master key) is in the repository in clear."""
    platform, repo, _ = backed_up
    secrets_ = [b"alice@labo.example", platform.store.get_bytes("base/snds/2024-12/MANIFEST.json")[:64],
                platform.settings.resolved_master_key_file.read_bytes()]
    key = Repository(store_at(str(repo), platform.settings)).unwrap_key(platform.keys)
    secrets_ += [key.material, base64.b64encode(key.material)]
    for path in repo.rglob("*"):
        if path.is_file():
            raw = path.read_bytes()
            assert not [s for s in secrets_ if s in raw], path


def test_a_changed_blob_is_named_by_verify_and_stops_the_restore(backed_up, tmp_path):
    platform, repo, _ = backed_up
    _, signed = _manifest(repo)
    victim = next(o for o in signed["document"]["objects"] if o["key"].endswith(".parquet"))
    blob = repo / "blobs" / victim["blob"][:2] / victim["blob"]
    raw = bytearray(blob.read_bytes())
    raw[len(raw) // 2] ^= 0x01
    blob.write_bytes(bytes(raw))
    result = backup.verify(platform, actor=operator_actor(), url=str(repo))
    assert not result.ok and any(victim["key"] in p for p in result.problems)
    target = _target(platform, tmp_path / "target")
    with pytest.raises(IntegrityError, match="restore stopped"):
        backup.restore(target, actor=operator_actor(), url=str(repo))
    assert not target.db.is_migrated()  # the platform does not exist there: nothing half-restored is usable
    target.close()


def test_blobs_swapped_between_objects_do_not_open(backed_up):
    """A blob is sealed for its name: the site cannot pass one object off as another."""
    platform, repo, _ = backed_up
    _, signed = _manifest(repo)
    a, b = [o for o in signed["document"]["objects"] if o["key"].endswith(".parquet")][:2]
    path = lambda o: repo / "blobs" / o["blob"][:2] / o["blob"]
    shutil.copyfile(path(b), path(a))
    result = backup.verify(platform, actor=operator_actor(), url=str(repo))
    assert any(a["key"] in p and "damaged or was altered" in p for p in result.problems)


def test_a_changed_manifest_is_refused(backed_up, tmp_path):
    """Changing what a manifest lists (a hash, to pass off other content) breaks its signature."""
    platform, repo, _ = backed_up
    path, signed = _manifest(repo)
    signed["document"]["objects"][0]["sha256"] = "0" * 64
    path.write_text(json.dumps(signed))
    with pytest.raises(IntegrityError, match="altered, or signed by another platform"):
        backup.verify(platform, actor=operator_actor(), url=str(repo))
    target = _target(platform, tmp_path / "target")
    with pytest.raises(IntegrityError):
        backup.restore(target, actor=operator_actor(), url=str(repo))
    target.close()


@pytest.mark.parametrize(("kept", "error", "message"), [
    ("signing.pem", KeyUnavailable, "master key of the platform that made them"),
    ("master.key", IntegrityError, "signed by another platform"),
])
def test_a_deployment_without_the_platforms_keys_cannot_open_a_backup(backed_up, tmp_path, kept, error, message):
    """Given one of the platform's keys and a new one of the other kind, a restore stops before
    it writes anything, saying which key is not the platform's."""
    platform, repo, _ = backed_up
    home = tmp_path / "other"
    (home / "keys").mkdir(parents=True)
    shutil.copy2(platform.settings.resolved_master_key_file.parent / kept, home / "keys" / kept)
    LocalKeyManager(home / "keys" / "master.key").ensure_master_key()  # made here unless kept
    Signer(home / "keys" / "signing.pem").ensure_key()
    target = Platform(Settings(home=home, env="test"))
    with pytest.raises(error, match=message):
        backup.restore(target, actor=operator_actor(), url=str(repo))
    assert not target.db.is_migrated() and not target.store.list("")
    target.close()

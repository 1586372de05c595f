"""Backup and restore (issue 17, item 2; RES-01 backup and tested restore, KEY-07 backups leave
encrypted): the drill on both deployments — a platform with a snapshot, people and a provisioned
workspace is backed up, the backup verified, restored into an empty deployment (SQLite + a
folder; PostgreSQL + a second S3 server), and the restored platform passes `base verify`,
`audit verify` and answers a workspace query from its restored, still encrypted extract."""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bastide.audit.models import AuditEvent
from bastide.backup import service as backup
from bastide.config import Settings
from bastide.errors import Conflict, InvalidInput, StorageError
from bastide.identity import service as identity
from bastide.platform import Platform, operator_actor
from bastide.workspaces import query
from tests.conftest import _fresh_postgres_db, make_platform
from tests.services import S3_ACCESS, S3_SECRET

pytestmark = pytest.mark.slow


def copy_keys(source: Platform, home: Path) -> None:
    """What an operator gives a new deployment besides the backup: the platform's key files."""
    (home / "keys").mkdir(parents=True)
    for key in (source.settings.resolved_master_key_file, source.settings.resolved_signing_key_file):
        shutil.copy2(key, home / "keys" / key.name)


def _sites(request, source: Platform, tmp_path: Path) -> tuple[str, dict]:
    """Where the backup goes and the empty deployment it is restored into: a folder and SQLite
    beside embedded defaults; the second S3 server (another provider) and a new PostgreSQL
    database beside PostgreSQL + S3."""
    if source.db.engine.dialect.name == "sqlite":
        return str(tmp_path / "repository"), {}
    server, endpoint = request.getfixturevalue("second_s3")
    other = {"backup_s3_endpoint": endpoint, "backup_s3_access_key": S3_ACCESS, "backup_s3_secret_key": S3_SECRET}
    named = Settings(home=source.settings.home, **other)
    for name in other:  # the source's settings name the backup endpoint too
        setattr(source.settings, name, getattr(named, name))
    target = {"database_url": _fresh_postgres_db(request.getfixturevalue("postgres_server")),
              "store_url": f"s3://{server.fresh_prefix()}/bastide", "s3_endpoint": endpoint,
              "s3_access_key": S3_ACCESS, "s3_secret_key": S3_SECRET, **other}
    return f"s3://{server.fresh_prefix()}/backups", target


def _restored(source: Platform, tmp_path: Path, **settings) -> Platform:
    home = tmp_path / "restored"
    copy_keys(source, home)
    return Platform(Settings(home=home, env="test", sandbox_uid_base=source.settings.sandbox_uid_base + 5000,
                             **settings))


def test_drill_backup_verify_restore(request, ready, tmp_path):
    platform, p, _permit, ws_id, _done = ready
    url, target_settings = _sites(request, platform, tmp_path)

    first = backup.create(platform, actor=operator_actor(), url=url)
    assert first.copied.objects == first.objects > 0 and first.copied.reused == 0
    with platform.db.unit_of_work() as s:
        identity.create_organisation(s, actor=operator_actor(), name="After the first backup", sector="public")
    second = backup.create(platform, actor=operator_actor(), url=url)
    assert second.copied.objects == 0 and second.copied.reused == second.objects == first.objects  # incremental
    assert backup.verify(platform, actor=operator_actor(), url=url).ok

    target = _restored(platform, tmp_path, **target_settings)
    try:
        report = backup.restore(target, actor=operator_actor(), url=url)
        assert (report.id, report.objects, report.skipped) == (second.id, second.objects, 0)
        checked = backup.check_restored(target, actor=operator_actor())
        assert checked.ok and [s.ref for s in checked.snapshots] == ["snds@2024-12"]
        with platform.db.unit_of_work() as s:
            events = s.scalar(select(func.count()).select_from(AuditEvent))
        # the source's chain up to the second backup's dump, then the restore: one chain, unbroken
        assert checked.chain.events == events - 1 + 1
        with target.db.unit_of_work() as s:
            assert identity.find_organisation(s, "After the first backup") is not None
            alice = identity.actor_of(identity.get_user(s, "alice@labo.example"))
        answer = query.run_query(target, actor=alice, ws_id=ws_id, sql="SELECT count(*) AS n FROM IR_BEN_R")
        before = query.run_query(platform, actor=p["alice"], ws_id=ws_id, sql="SELECT count(*) AS n FROM IR_BEN_R")
        assert answer.rows == before.rows and answer.rows[0][0] > 0
    finally:
        target.close()


def test_an_interrupted_restore_resumes(backed_up, tmp_path):
    platform, repository, made = backed_up
    url = str(repository)
    target = _restored(platform, tmp_path)

    class Stop(Exception):
        pass

    def stop_after_ten(done, total):
        if done == 10:
            raise Stop

    with pytest.raises(Stop):
        backup.restore(target, actor=operator_actor(), url=url, progress=stop_after_ten)
    assert not target.db.is_migrated()  # the database comes last: nothing of the platform exists yet
    report = backup.restore(target, actor=operator_actor(), url=url)
    assert report.skipped >= 10 and report.objects == made.objects
    assert backup.check_restored(target, actor=operator_actor()).ok
    target.close()


def test_restore_refuses_a_deployment_that_holds_anything(backed_up, tmp_path):
    platform, repository, _ = backed_up
    url = str(repository)
    used = _restored(platform, tmp_path)
    used.init(operator_actor())  # `bastide init` made a platform here: its database holds an event
    with pytest.raises(Conflict, match="target database is not empty"):
        backup.restore(used, actor=operator_actor(), url=url)
    used.close()
    stray = Platform(Settings(home=tmp_path / "stray", env="test", master_key_file=used.settings.resolved_master_key_file,
                              signing_key_file=used.settings.resolved_signing_key_file))
    stray.store.put_bytes("somebody/else.txt", b"not from the backup")
    with pytest.raises(Conflict, match="target store is not empty"):
        backup.restore(stray, actor=operator_actor(), url=url)
    assert not stray.db.is_migrated()
    stray.close()


def test_an_unreachable_backup_site_stops_cleanly(backed_up):
    platform, _, _ = backed_up
    with platform.db.unit_of_work() as s:
        events = s.scalar(select(func.count()).select_from(AuditEvent))
    platform.settings.backup_s3_endpoint = "http://127.0.0.1:9"  # nothing listens there
    try:
        with pytest.raises(StorageError, match="failed on the store"):
            backup.create(platform, actor=operator_actor(), url=f"s3://nowhere-{uuid.uuid4().hex[:6]}/backups")
    finally:
        platform.settings.backup_s3_endpoint = None
    with platform.db.unit_of_work() as s:  # no key made, no event: the source is as it was
        assert s.scalar(select(func.count()).select_from(AuditEvent)) == events


def test_backups_made_before_a_rotation_of_the_master_key_still_restore(tmp_path):
    """KEY-02 renewal meets RES-01: the repository's key is wrapped again with the data keys, and
    the repository's copy is rewritten before the old master key is destroyed."""
    from bastide.keys.rotation import rotate_master_key

    platform = make_platform(tmp_path / "source")
    url = str(tmp_path / "repository")
    made = backup.create(platform, actor=operator_actor(), url=url)
    rotate_master_key(platform, actor=operator_actor(),
                      before_finish=lambda: backup.refresh_repository_keys(platform))
    platform.close()
    target = _restored(platform, tmp_path)  # given the new master key only: the old one is gone
    assert backup.restore(target, actor=operator_actor(), url=url).id == made.id
    target.close()


def test_a_repository_inside_the_store_it_backs_up_is_refused(backed_up):
    platform, _, _ = backed_up
    inside = platform.settings.resolved_store_url + "/backups"
    with pytest.raises(InvalidInput, match="inside the store"):
        backup.create(platform, actor=operator_actor(), url=inside)
    assert not platform.store.list("backups")

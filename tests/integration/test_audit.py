from sqlalchemy import select, text

from bastide.audit.actions import AuditAction
from bastide.audit.models import AuditHead
from bastide.audit.service import record, verify_chain
from bastide.config import Settings
from bastide.platform import Platform, operator_actor


def tamper(session, sql: str) -> None:
    """What the owner of a copy of the database can do: the append-only triggers first."""
    for table in ("audit_event", "audit_checkpoint"):
        if session.bind.dialect.name == "postgresql":
            session.execute(text(f"ALTER TABLE {table} DISABLE TRIGGER USER"))
        else:
            for verb in ("update", "delete"):
                session.execute(text(f"DROP TRIGGER IF EXISTS {table}_no_{verb}"))
    session.execute(text(sql))


def test_edited_row_breaks_the_chain_and_is_named(tmp_path, database_url):  # AUD-05
    platform = Platform(Settings(home=tmp_path, database_url=database_url))
    platform.init(operator_actor())
    with platform.db.unit_of_work() as s:
        for i in range(5):
            record(s, actor=operator_actor(), action=AuditAction.DATASET_CREATE, target=f"dataset:d{i}", details={"i": i})
    with platform.db.unit_of_work() as s:
        assert verify_chain(s).ok and verify_chain(s).events == 6
        tamper(s, "UPDATE audit_event SET target = 'dataset:forged' WHERE id = 4")
    with platform.db.unit_of_work() as s:
        report = verify_chain(s)
    assert not report.ok and report.broken_at == 4 and "modified" in report.reason
    platform.close()


def test_deleted_row_breaks_the_chain(tmp_path, database_url):
    platform = Platform(Settings(home=tmp_path, database_url=database_url))
    platform.init(operator_actor())
    with platform.db.unit_of_work() as s:
        for i in range(3):
            record(s, actor=operator_actor(), action=AuditAction.DATASET_CREATE, target=f"d{i}")
        s.flush()
        tamper(s, "DELETE FROM audit_event WHERE id = 2")
    with platform.db.unit_of_work() as s:
        report = verify_chain(s)
    assert report.broken_at == 2 and "missing" in report.reason
    platform.close()


def test_a_failed_write_leaves_no_event(tmp_path):
    platform = Platform(Settings(home=tmp_path))
    platform.init(operator_actor())
    try:
        with platform.db.unit_of_work() as s:
            record(s, actor=operator_actor(), action=AuditAction.DATASET_CREATE, target="x")
            raise RuntimeError("boom")
    except RuntimeError:
        pass
    with platform.db.unit_of_work() as s:
        assert verify_chain(s).events == 1  # only platform:init
    platform.close()


def test_the_suite_catches_a_write_without_its_event(tmp_path):
    """The autouse guard in conftest.py fails a commit that writes without an audit event."""
    import pytest

    from bastide.catalogue.models import Dataset
    from bastide.db import utcnow

    platform = Platform(Settings(home=tmp_path))
    platform.init(operator_actor())
    with pytest.raises(AssertionError, match="without an audit event"), platform.db.unit_of_work() as s:
        s.add(Dataset(name="x", title="x", description="", schema_source="s", created_at=utcnow()))
    platform.close()


def test_writers_at_the_same_moment_extend_one_chain(tmp_path, database_url):  # AUD-05, issue 13
    """Eight threads recording at once (two workspaces' queries, a job's end…): no write fails
    and the chain verifies. On SQLite the head was read before the write lock, and the second of
    two writers failed on a duplicate event id."""
    import threading

    from bastide.statemachine import SYSTEM

    platform = Platform(Settings(home=tmp_path, database_url=database_url))
    platform.init(operator_actor())
    failures: list[BaseException] = []
    start = threading.Barrier(8)

    def write() -> None:
        start.wait()
        for i in range(15):
            try:
                with platform.db.unit_of_work() as s:
                    s.execute(select(AuditHead)).all()  # a read first, as query admission does
                    record(s, actor=SYSTEM, action=AuditAction.WORKSPACE_QUERY, target=f"test:{i}")
            except BaseException as exc:  # noqa: BLE001 - collected for the assertion
                failures.append(exc)

    threads = [threading.Thread(target=write) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []
    with platform.db.unit_of_work() as s:
        report = verify_chain(s)
    assert report.ok and report.events >= 120
    platform.close()


def test_the_platform_itself_cannot_change_or_delete_audit_rows(tmp_path, database_url):  # AUD-05, issue 14
    import pytest
    from sqlalchemy.exc import DatabaseError

    platform = Platform(Settings(home=tmp_path, database_url=database_url))
    platform.init(operator_actor())
    for sql in ("UPDATE audit_event SET target = 'x' WHERE id = 1", "DELETE FROM audit_event WHERE id = 1"):
        with pytest.raises(DatabaseError, match="append-only"), platform.db.unit_of_work() as s:
            s.execute(text(sql))
    with platform.db.unit_of_work() as s:
        assert verify_chain(s).ok and verify_chain(s).events == 1
    platform.close()


def test_a_chain_cut_short_or_rewritten_fails_against_its_signed_checkpoints(tmp_path, database_url):
    """Issue 14 "Why" 7: on a copy of the database the last 171 events were deleted and the rest
    re-hashed, and verify passed. Checkpoints signed with the platform's key, kept outside, catch
    both, and a forged checkpoint too."""
    from bastide.audit import checkpoints as cp

    platform = Platform(Settings(home=tmp_path, database_url=database_url))
    platform.init(operator_actor())
    with platform.db.unit_of_work() as s:
        for i in range(199):
            record(s, actor=operator_actor(), action=AuditAction.DATASET_CREATE, target=f"d{i}")
    with platform.db.unit_of_work() as s:
        assert cp.due(s, every_events=100, every_seconds=3600)
        made = cp.checkpoint(s, signer=platform.signer)  # the 201st event is the checkpoint's own
    kept = cp.export([made], platform.signer.public_pem())  # what a data holder keeps
    assert made.events == 201
    key = platform.signer.public_pem()
    with platform.db.unit_of_work() as s:
        assert not cp.due(s, every_events=100, every_seconds=3600)
        assert cp.against(s, cp.imported(kept), public_pem=key).ok

    with platform.db.unit_of_work() as s:  # the attack, on the database: the last 171 go, the head follows
        tamper(s, "DELETE FROM audit_event WHERE id > 30")
        tamper(s, "DELETE FROM audit_checkpoint")
        head = s.get(AuditHead, 1)
        last = s.execute(text("SELECT hash FROM audit_event WHERE id = 30")).scalar_one()
        head.last_id, head.last_hash = 30, last
    with platform.db.unit_of_work() as s:
        assert verify_chain(s).ok  # the chain alone holds: that was the hole
        cut = cp.against(s, cp.imported(kept), public_pem=key)
    assert not cut.ok and "deleted" in cut.problem

    with platform.db.unit_of_work() as s:  # rewritten: as many events, one changed and the rest re-hashed
        for i in range(171):
            record(s, actor=operator_actor(), action=AuditAction.DATASET_CREATE, target=f"forged{i}")
    with platform.db.unit_of_work() as s:
        assert verify_chain(s).ok
        rewritten = cp.against(s, cp.imported(kept), public_pem=key)
        forged = cp.Checkpoint(201, s.get(AuditHead, 1).last_hash, made.at, made.signature)
        assert not cp.against(s, [forged], public_pem=key).ok  # another head under the old signature
    assert not rewritten.ok and "rewritten" in rewritten.problem
    platform.close()


def test_the_workers_scheduled_check_signs_checkpoints_and_publishes_them(tmp_path):
    from bastide.server import create_app
    from bastide.audit import checkpoints as cp
    from bastide.worker.checks import scheduled
    from tests.portal import client_for

    platform = Platform(Settings(home=tmp_path, audit_checkpoint_events=5, audit_checkpoint_seconds=3600))
    platform.init(operator_actor())
    scheduled(platform)  # the first check signs the chain at once: init and the checkpoint itself
    scheduled(platform)  # nothing new since: no checkpoint
    with platform.db.unit_of_work() as s:
        assert [c.events for c in cp.published(s)] == [2]
        for i in range(5):
            record(s, actor=operator_actor(), action=AuditAction.DATASET_CREATE, target=f"d{i}")
    scheduled(platform)
    public = client_for(create_app(platform)).get("/api/audit/checkpoints").json()
    assert [c["events"] for c in public["checkpoints"]] == [2, 8] and public["public_key"].startswith("-----BEGIN")
    with platform.db.unit_of_work() as s:
        assert cp.against(s, cp.imported(__import__("json").dumps(public)), public_pem=public["public_key"]).ok
    platform.close()

from sqlalchemy import select, text

from bastide.audit.actions import AuditAction
from bastide.audit.models import AuditHead
from bastide.audit.service import record, verify_chain
from bastide.config import Settings
from bastide.platform import Platform, operator_actor


def test_edited_row_breaks_the_chain_and_is_named(tmp_path, database_url):  # AUD-05
    platform = Platform(Settings(home=tmp_path, database_url=database_url))
    platform.init(operator_actor())
    with platform.db.unit_of_work() as s:
        for i in range(5):
            record(s, actor=operator_actor(), action=AuditAction.DATASET_CREATE, target=f"dataset:d{i}", details={"i": i})
    with platform.db.unit_of_work() as s:
        assert verify_chain(s).ok and verify_chain(s).events == 6
        s.execute(text("UPDATE audit_event SET target = 'dataset:forged' WHERE id = 4"))
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
        s.execute(text("DELETE FROM audit_event WHERE id = 2"))
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

"""Migration between deployments (issue 17, item 3; SOV-07 reversibility, KEY-08): the whole
platform copied to another database, store and master key while the source stays usable; a
later run catches up what was written meanwhile; the target verifies whole and signs the same;
a target holding other data is refused, the source untouched. The kill -9 and the move to
PostgreSQL + S3 with keys in an HSM run as an operator types them (tests/e2e/test_cli.py)."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from bastide.audit.models import AuditEvent
from bastide.base.ingest import IngestRequest, ingest
from bastide.config import Settings
from bastide.errors import ConfigError, Conflict
from bastide.identity import service as identity
from bastide.keys.models import DataKey
from bastide.keys.signing import BadSignature, Signer, verify_document
from bastide.migration import service as migration
from bastide.migration.journal import Journal
from bastide.platform import Platform, operator_actor
from bastide.workspaces import query


def _target(tmp_path, name="target") -> Platform:
    return Platform(Settings(home=tmp_path / name, env="test"))


def _events(platform) -> int:
    with platform.db.unit_of_work() as s:
        return s.scalar(select(func.count()).select_from(AuditEvent))


@pytest.mark.parametrize("deployment_kind", ["sqlite+local"], indirect=True)
def test_a_live_platform_moves_whole_with_its_keys_wrapped_again(ready, tmp_path, tiny_delivery):
    platform, p, _permit, ws_id, _ = ready
    target, journal = _target(tmp_path), tmp_path / "journal"
    first = migration.migrate(platform, target, actor=operator_actor(), journal_dir=journal, objects_only=True)
    assert first.report is None and first.copied.objects == len(platform.store.list(""))
    # the source keeps working: a new release is published meanwhile
    ingest(platform, actor=operator_actor(), request=IngestRequest(str(tiny_delivery), "snds", "2025-01"))
    events = _events(platform)
    done = migration.migrate(platform, target, actor=operator_actor(), journal_dir=journal)
    assert 0 < done.copied.objects < first.copied.objects  # only what the new release wrote
    assert {s["ref"] for s in done.report["snapshots"]} == {"snds@2024-12", "snds@2025-01"}
    assert done.report["audit_events"] == events + 2  # the source's chain, and the target's two verifications
    assert _events(target) == events + 3  # then the move itself, on the target's chain and on the source's
    assert _events(platform) == events + 1

    with platform.db.unit_of_work() as s, target.db.unit_of_work() as t:
        before = {k.id: k.wrapped for k in s.execute(select(DataKey)).scalars()}
        after = {k.id: k.wrapped for k in t.execute(select(DataKey)).scalars()}
    assert before.keys() == after.keys() and all(before[k] != after[k] for k in before if before[k])  # another master key
    assert target.signer.public_pem() == platform.signer.public_pem()
    with target.db.unit_of_work() as t:
        alice = identity.actor_of(identity.get_user(t, "alice@labo.example"))
    sql = "SELECT count(*) FROM ER_PRS_F"
    assert query.run_query(target, actor=alice, ws_id=ws_id, sql=sql).rows == \
        query.run_query(platform, actor=p["alice"], ws_id=ws_id, sql=sql).rows

    report = done.report_path.read_text()
    assert verify_document(report, public_pem=platform.signer.public_pem(), format=migration.REPORT_FORMAT) == done.report
    altered = json.loads(report)
    altered["document"]["objects"]["count"] += 1
    with pytest.raises(BadSignature):
        verify_document(json.dumps(altered), public_pem=platform.signer.public_pem(), format=migration.REPORT_FORMAT)
    with pytest.raises(Conflict, match="this migration is finished"):
        migration.migrate(platform, target, actor=operator_actor(), journal_dir=journal)
    target.close()


def test_a_target_holding_other_data_is_refused_and_the_source_is_untouched(backed_up_once, tmp_path):
    platform, _, _ = backed_up_once
    events = _events(platform)
    stray = _target(tmp_path, "stray")
    stray.store.put_bytes("somebody/else.parquet", b"other data")
    with pytest.raises(Conflict, match="did not put there"):
        migration.migrate(platform, stray, actor=operator_actor(), journal_dir=tmp_path / "journal")
    stray.close()
    used = _target(tmp_path, "used")
    used.init(operator_actor())
    with pytest.raises(Conflict, match="target database is not empty"):
        migration.migrate(platform, used, actor=operator_actor(), journal_dir=tmp_path / "journal")
    used.close()
    assert _events(platform) == events


def test_a_target_signing_with_another_key_is_refused(backed_up_once, tmp_path):
    platform, _, _ = backed_up_once
    home = tmp_path / "other"
    Signer(home / "keys" / "signing.pem").ensure_key()
    target = Platform(Settings(home=home, env="test"))
    with pytest.raises(ConfigError, match="not the platform's"):
        migration.migrate(platform, target, actor=operator_actor(), journal_dir=tmp_path / "journal")
    assert not target.store.list("") and not target.db.is_migrated()
    target.close()


def test_an_object_a_killed_run_wrote_but_had_not_counted_is_copied_again(backed_up_once, tmp_path):
    """A kill between an object's write and its journal line leaves it on the target: the journal
    said the run meant to write it, so it is ours (copied again), not another's data."""
    platform, _, _ = backed_up_once
    target, journal_dir = _target(tmp_path), tmp_path / "journal"
    key = next(o.key for o in platform.store.list("") if o.key.endswith(".parquet"))
    Journal(journal_dir / f"{migration.migration_id(target)}.jsonl").intend([key])
    target.store.put_bytes(key, b"the first half of it")
    done = migration.migrate(platform, target, actor=operator_actor(), journal_dir=journal_dir)
    assert target.store.sha256(key) == platform.store.sha256(key) and done.report["objects"]["count"] > 1
    target.close()

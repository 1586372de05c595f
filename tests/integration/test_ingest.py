"""Ingest, verify and the catalogue, on SQLite+local and PostgreSQL+SeaweedFS."""

from __future__ import annotations

from pathlib import Path

import pyarrow.dataset as ds
import pytest
from pydantic import SecretStr

from bastide.catalogue import dictionary
from bastide.base.ingest import IngestRequest, ingest
from bastide.base.verify import verify_snapshot
from bastide.catalogue import service as catalogue
from bastide.errors import Conflict, InvalidInput, NotFound, ValidationFailed
from bastide.keys.parquet import scan_options
from bastide.keys.service import destroy_key, unwrap_key
from tests.services import S3_ACCESS, S3_SECRET


def _data_lines(folder: Path) -> int:
    """The rows a delivered table's CSV files hold (a person has a row per pseudo-NIR)."""
    return sum(len(p.read_text().splitlines()) - 1 for p in folder.glob("*.csv"))


def test_ingest_verify_and_catalogue(platform, delivery, actor):
    result = ingest(platform, actor=actor, request=IngestRequest(str(delivery), "snds", "2024-12"))
    assert result.tables["ER_PRS_F"] > 1000 and result.tables["T_MCOaaB"] > 10
    report = verify_snapshot(platform, actor=actor, ref="snds@2024-12")
    assert report.ok and report.files == result.files
    with platform.db.unit_of_work() as s:
        snap = catalogue.get_snapshot(s, "snds@2024-12")
        prs = catalogue.get_table(snap, "ER_PRS_F")
        assert prs.partitioning == "flx_month" and len(prs.variables) == 123
        assert catalogue.get_table(snap, "T_MCOaaB").partitioning == "year"
        key = unwrap_key(s, keys=platform.keys, key_id=snap.key_id)
    keys = [o.key for o in platform.store.list("base/snds/2024-12")]
    assert any("ER_PRS_F/flx_month=2023-02/part-0.parquet" in k for k in keys)
    assert any("T_MCOaaB/year=2024/part-0.parquet" in k for k in keys)
    fmt = ds.ParquetFileFormat(default_fragment_scan_options=scan_options({snap.key_id: key}))
    prs_files = [platform.store.path(k) for k in keys if "/ER_PRS_F/" in k]
    table = ds.dataset(prs_files, format=fmt, filesystem=platform.store.fs).to_table(columns=["BEN_NIR_PSA"])
    assert table.num_rows == result.tables["ER_PRS_F"]


def test_flipped_byte_is_named_by_verify(platform, delivery, actor):
    ingest(platform, actor=actor, request=IngestRequest(str(delivery), "snds", "r1"))
    victim = next(o.key for o in platform.store.list("base/snds/r1") if o.key.endswith(".parquet"))
    data = bytearray(platform.store.get_bytes(victim))
    data[len(data) // 2] ^= 0x01
    platform.store.put_bytes(victim, bytes(data))
    report = verify_snapshot(platform, actor=actor, ref="snds@r1")
    assert not report.ok and report.changed == [victim] and report.signature_ok


def test_extra_and_missing_files_are_reported(platform, delivery, actor):
    ingest(platform, actor=actor, request=IngestRequest(str(delivery), "snds", "r1"))
    victim = next(o.key for o in platform.store.list("base/snds/r1") if o.key.endswith(".parquet"))
    platform.store.delete(victim)
    platform.store.put_bytes("base/snds/r1/EXTRA/x.parquet", b"x")
    report = verify_snapshot(platform, actor=actor, ref="snds@r1")
    assert report.missing == [victim] and report.extra == ["base/snds/r1/EXTRA/x.parquet"]


def test_snapshot_name_taken_is_refused_and_loses_nothing(platform, delivery, actor):
    ingest(platform, actor=actor, request=IngestRequest(str(delivery), "snds", "r1"))
    with pytest.raises(Conflict, match="already exists"):
        ingest(platform, actor=actor, request=IngestRequest(str(delivery), "snds", "r1"))
    assert verify_snapshot(platform, actor=actor, ref="snds@r1").ok


def test_unchanged_tables_are_reused_by_the_next_release(platform, delivery, actor):
    first = ingest(platform, actor=actor, request=IngestRequest(str(delivery), "snds", "r1"))
    import shutil

    extra = delivery / "IR_BEN_R" / "IR_BEN_R.csv"
    lines = extra.read_text().splitlines()
    extra.write_text("\n".join(lines[:-1]) + "\n")  # IR_BEN_R changes
    for folder in delivery.iterdir():  # keep it alone, so no other table loses its beneficiary
        if folder.name != "IR_BEN_R":
            shutil.rmtree(folder)
    second = ingest(platform, actor=actor, request=IngestRequest(str(delivery), "snds", "r2"))
    assert second.reused == [] and second.tables == {"IR_BEN_R": len(lines) - 2}
    third = ingest(platform, actor=actor, request=IngestRequest(str(delivery), "snds", "r3"))
    assert third.reused == ["IR_BEN_R"]
    assert all(o.key.endswith(("MANIFEST.json", "MANIFEST.json.sig")) for o in platform.store.list("base/snds/r3"))
    assert verify_snapshot(platform, actor=actor, ref="snds@r3").ok
    assert first.files > third.files
    with platform.db.unit_of_work() as session:  # a reused folder keeps its completeness and values (issue 18, item 1)
        filled = [{v.name: (v.filled, v.values()) for v in dictionary.table(session, ref, "IR_BEN_R").variables}
                  for ref in ("snds@r2", "snds@r3")]
    assert filled[0] == filled[1] and None not in {f for f, _ in filled[1].values()}
    assert filled[1]["BEN_SEX_COD"][1]["codes"] > 0 and "placeholders" in filled[1]["BEN_DCD_DTE"][1]


@pytest.mark.parametrize("deployment_kind", ["sqlite+local"], indirect=True)
def test_a_table_delivered_empty_is_staged_again_not_reused(platform, tiny_delivery, actor):
    """An empty table has no file to reuse: the next release of the same delivery (found when
    a migration's test published one) used to fail on it with an IndexError."""
    empty = [f.name for f in tiny_delivery.iterdir() if sum(len(c.read_text().splitlines()) for c in f.glob("*.csv")) == 1]
    assert empty, "the tiny delivery has a table with a header and no row (KI_CCI_R, KI_ECD_R)"
    ingest(platform, actor=actor, request=IngestRequest(str(tiny_delivery), "snds", "r1"))
    again = ingest(platform, actor=actor, request=IngestRequest(str(tiny_delivery), "snds", "r2"))
    assert not set(empty) & set(again.reused) and again.tables[empty[0]] == 0
    assert verify_snapshot(platform, actor=actor, ref="snds@r2").ok


def test_destroyed_key_makes_the_snapshot_unreadable(platform, delivery, actor):  # KEY-06
    ingest(platform, actor=actor, request=IngestRequest(str(delivery), "snds", "r1"))
    with platform.db.unit_of_work() as s:
        snap = catalogue.get_snapshot(s, "snds@r1")
        destroy_key(s, actor=actor, key_id=snap.key_id, reason="test")
    with platform.db.unit_of_work() as s, pytest.raises(Exception, match="destroyed"):
        unwrap_key(s, keys=platform.keys, key_id=snap.key_id)


def test_other_dataset_with_its_own_schema(platform, tmp_path, actor):
    schema = tmp_path / "registre.json"
    schema.write_text('{"name": "CANCERS", "primaryKey": ["id"], "fields": ['
                      '{"name": "id", "type": "integer"}, {"name": "site", "type": "string", "length": "4"},'
                      '{"name": "diag", "type": "date"}]}')
    data = tmp_path / "registre"
    data.mkdir()
    (data / "CANCERS.csv").write_text("id;site;diag\n1;C509;2023-02-01\n2;C61;2023-05-17\n")
    result = ingest(platform, actor=actor, request=IngestRequest(str(data), "registre-cancers", "2023", schema=schema))
    assert result.tables == {"CANCERS": 2}
    with platform.db.unit_of_work() as s:
        assert [d.name for d in catalogue.list_datasets(s)] == ["registre-cancers"]
    with platform.db.unit_of_work() as s, pytest.raises(NotFound):
        catalogue.get_snapshot(s, "snds@2023")


def test_parquet_delivery_is_cast_and_checked(platform, tmp_path, small_delivery, actor):
    import duckdb

    data = tmp_path / "pq"
    (data / "IR_BEN_R").mkdir(parents=True)
    target = data / "IR_BEN_R" / "IR_BEN_R.parquet"
    duckdb.sql(f"COPY (SELECT * FROM read_csv('{small_delivery}/IR_BEN_R/*.csv', delim=';', header=true, "
               f"all_varchar=true)) TO '{target}' (FORMAT parquet)")
    result = ingest(platform, actor=actor, request=IngestRequest(str(data), "snds", "pq1"))
    assert result.tables == {"IR_BEN_R": _data_lines(small_delivery / "IR_BEN_R")}
    duckdb.sql(f"COPY (SELECT * REPLACE (CASE WHEN BEN_RNG_GEM = '1' THEN 'un' ELSE BEN_RNG_GEM END AS BEN_RNG_GEM) "
               f"FROM '{target}') TO '{target}.tmp' (FORMAT parquet)")
    Path(f"{target}.tmp").replace(target)
    with pytest.raises(ValidationFailed) as exc:
        ingest(platform, actor=actor, request=IngestRequest(str(data), "snds", "pq2"))
    assert {c["rule"] for c in exc.value.details["counts"]} == {"type"}


def test_delivery_from_s3(platform, s3_server, small_delivery, actor):
    import pyarrow.fs as pafs

    server, endpoint = s3_server
    bucket = server.fresh_prefix()
    fs = server.filesystem()
    pafs.copy_files(str(small_delivery), f"{bucket}/cnam/2024-12", source_filesystem=pafs.LocalFileSystem(),
                    destination_filesystem=fs)
    settings = platform.settings
    settings.s3_endpoint = endpoint
    settings.s3_access_key, settings.s3_secret_key = SecretStr(S3_ACCESS), SecretStr(S3_SECRET)
    result = ingest(platform, actor=actor, request=IngestRequest(f"s3://{bucket}/cnam/2024-12", "snds", "s3"))
    assert result.tables["ER_PRS_F"] > 1000
    with pytest.raises(InvalidInput, match="holds no file"):
        ingest(platform, actor=actor, request=IngestRequest(f"s3://{bucket}/nothing", "snds", "s3b"))

"""Provisioning a workspace from a permit (SPE-02, SPE-03, PSE-01…PSE-06, GOV-16, KEY-06).

Every expectation is computed here independently of the extract SQL: pyarrow over the
snapshot's files, the cohort in Python, pseudonyms with the Python reference."""

from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from bastide.catalogue import service as catalogue
from bastide.errors import KeyUnavailable
from bastide.governance import optout, permits
from bastide.keys import service as key_service
from bastide.keys.parquet import decryption_properties
from bastide.platform import operator_actor
from bastide.workspaces import service as workspaces
from bastide.workspaces.models import Extract
from bastide.workspaces.pseudonym import pseudonym
from bastide.workspaces.source import open_table, snapshot_files
from tests.integration.test_permit_lifecycle import _granted
from tests.unit.test_application_form import FULL

TABLES = ["ER_PHA_F", "ER_PRS_F", "IR_BEN_R", "IR_NAT_V", "T_MCOaaB", "T_MCOaaC"]
SCOPE = {"snapshot": "snds@2024-12", "tables": TABLES, "years": [2023],
         "population": {"icd10": ["E1", "I2"], "sex": [2], "combine": "any"}}


def _snapshot_table(platform, table: str, year: int | None = None) -> pa.Table:
    with platform.db.unit_of_work() as s:
        files = snapshot_files(platform.store, catalogue.get_snapshot(s, "snds@2024-12")).files
        chosen = [f for f in files if f.table == table and (year is None or f.partition is None
                                                               or f.partition.split("=")[1].startswith(str(year)))]
        return open_table(s, store=platform.store, keys=platform.keys, files=chosen).to_table()


def _extract_table(platform, ws_ref: str, table: str) -> pa.Table:
    with platform.db.unit_of_work() as s:
        row = s.query(Extract).filter(Extract.prefix.like(f"workspaces/{ws_ref}/%"), Extract.status == "ready").one()
        key = key_service.unwrap_key(s, keys=platform.keys, key_id=row.key_id)
        prefix, key_id = row.prefix, row.key_id
    with platform.store.fs.open_input_file(platform.store.path(f"{prefix}/{table}/part-0.parquet")) as fh:
        return pq.read_table(fh, decryption_properties=decryption_properties({key_id: key}))


def _expected_cohort(platform) -> set[str]:
    b, c = _snapshot_table(platform, "T_MCOaaB", 2023), _snapshot_table(platform, "T_MCOaaC", 2023)
    d = _snapshot_table(platform, "T_MCOaaD", 2023)
    hit = lambda col: pc.or_(pc.starts_with(col, "E1"), pc.starts_with(col, "I2"))  # noqa: E731
    stays = {(str(e), str(r)) for e, r in zip(*(b.filter(pc.fill_null(pc.or_(hit(b["DGN_PAL"]), hit(b["DGN_REL"])),
                                                                     False)).column(k).to_pylist()
                                               for k in ("ETA_NUM", "RSA_NUM")), strict=True)}
    stays |= {(str(e), str(r)) for e, r in zip(*(d.filter(pc.fill_null(hit(d["ASS_DGN"]), False)).column(k).to_pylist()
                                                for k in ("ETA_NUM", "RSA_NUM")), strict=True)}
    persons = {n for n, e, r in zip(*(c.column(k).to_pylist() for k in ("NIR_ANO_17", "ETA_NUM", "RSA_NUM")),
                                    strict=True) if (str(e), str(r)) in stays}
    ben = _snapshot_table(platform, "IR_BEN_R")
    return persons | set(ben.filter(pc.equal(ben["BEN_SEX_COD"], 2))["BEN_NIR_PSA"].to_pylist())


def _pseudonym_key(platform, ws_ref: str) -> bytes:
    with platform.db.unit_of_work() as s:
        ws = next(w for w in workspaces.list_workspaces(s) if w.reference == ws_ref)
        return key_service.unwrap_key(s, keys=platform.keys, key_id=ws.pseudonym_key_id)


def test_the_extract_holds_exactly_the_permitted_rows_and_columns(world):
    platform, p = world
    ben = _snapshot_table(platform, "IR_BEN_R")
    objector = sorted(ben.filter(pc.equal(ben["BEN_SEX_COD"], 2))["BEN_NIR_PSA"].to_pylist())[0]
    with platform.db.unit_of_work() as s:
        optout.record_optout(s, actor=p["louis"], pseudonym=objector)  # before the permit: excluded (GOV-16)
    permit_id = _granted(platform, p, form={**FULL, "data": SCOPE})
    done = workspaces.provision(platform, actor=operator_actor(), permit_id=permit_id)
    key = _pseudonym_key(platform, done.workspace)
    cohort = _expected_cohort(platform) - {objector}
    assert done.cohort == len(cohort) > 0

    people = _extract_table(platform, done.workspace, "IR_BEN_R")
    assert sorted(people["BEN_NIR_PSA"].to_pylist()) == sorted(pseudonym(key, n) for n in cohort)
    assert "BEN_RES_COM" not in people.column_names and "BEN_NAI_MOI" not in people.column_names  # PSE-05
    assert "BEN_NAI_ANN" in people.column_names and "BEN_IDT_ANO" in people.column_names

    prs = _snapshot_table(platform, "ER_PRS_F", 2023)
    mine = prs.filter(pc.is_in(prs["BEN_NIR_PSA"], pa.array(sorted(cohort))))
    extracted = _extract_table(platform, done.workspace, "ER_PRS_F")
    assert extracted.num_rows == mine.num_rows == done.tables["ER_PRS_F"]["rows"]
    days = pc.day(extracted["EXE_SOI_DTD"]).unique().to_pylist()
    assert days == [1]  # care dates to the month (PSE-05); flux keys exact for the 9-key join
    assert sorted(extracted["FLX_DIS_DTD"].to_pylist()) == sorted(mine["FLX_DIS_DTD"].to_pylist())

    keys = ["DCT_ORD_NUM", "FLX_DIS_DTD", "FLX_EMT_NUM", "FLX_EMT_ORD", "FLX_EMT_TYP", "FLX_TRT_DTD", "ORG_CLE_NUM",
            "PRS_ORD_NUM", "REM_TYP_AFF"]
    pha = _snapshot_table(platform, "ER_PHA_F", 2023)
    expected_pha = pha.join(mine.select(keys).group_by(keys).aggregate([]), keys, join_type="left semi")
    assert _extract_table(platform, done.workspace, "ER_PHA_F").num_rows == expected_pha.num_rows
    assert _extract_table(platform, done.workspace, "IR_NAT_V").num_rows == _snapshot_table(platform, "IR_NAT_V").num_rows

    with platform.db.unit_of_work() as s:  # the manifest pins the snapshot, the permit and the spec
        row = s.query(Extract).one()
        body = json.loads(platform.store.get_bytes(f"{row.prefix}/EXTRACT.json"))
    assert body["merkle_root"] and body["spec_sha256"] == row.spec_sha256 and body["permit"].startswith("PRM-")
    assert {f["table"] for f in body["files"]} == set(TABLES)


def test_two_projects_get_different_pseudonyms_for_the_same_person(world):
    platform, p = world
    scope = {**SCOPE, "tables": ["IR_BEN_R"], "population": {"sex": [1]}}
    first = workspaces.provision(platform, actor=operator_actor(), permit_id=_granted(platform, p, {**FULL, "data": scope}))
    second = workspaces.provision(platform, actor=operator_actor(), permit_id=_granted(platform, p, {**FULL, "data": scope}))
    a = set(_extract_table(platform, first.workspace, "IR_BEN_R")["BEN_NIR_PSA"].to_pylist())
    b = set(_extract_table(platform, second.workspace, "IR_BEN_R")["BEN_NIR_PSA"].to_pylist())
    assert len(a) == len(b) == first.cohort > 0 and not a & b  # PSE-02: unlinkable across projects


def test_a_failed_build_leaves_nothing_and_an_amendment_shreds_the_old_extract(world):
    platform, p = world
    permit_id = _granted(platform, p, {**FULL, "data": {**SCOPE, "tables": ["IR_BEN_R"]}})
    done = workspaces.provision(platform, actor=operator_actor(), permit_id=permit_id)
    with platform.db.unit_of_work() as s:
        old = s.query(Extract).one()
        old_prefix, old_key = old.prefix, old.key_id
        saved = platform.store.get_bytes(f"{old_prefix}/IR_BEN_R/part-0.parquet")  # a copy someone kept
        new = permits.amend(s, actor=p["ines"], permit=permits.get_permit(s, permit_id), signer=platform.signer,
                            changes={"data": {**SCOPE, "tables": ["IR_BEN_R", "NOPE_TABLE"]}}, reason="more tables")
        broken_id = new.id
    with pytest.raises(Exception, match="NOPE_TABLE"):
        workspaces.provision(platform, actor=operator_actor(), permit_id=broken_id)
    with platform.db.unit_of_work() as s:
        failed = s.query(Extract).filter(Extract.status == "failed").one()
        assert "NOPE_TABLE" in failed.error and platform.store.list(failed.prefix) == []
        assert workspaces.list_workspaces(s)[0].status == "failed"
        fixed = permits.amend(s, actor=p["ines"], permit=permits.get_permit(s, broken_id), signer=platform.signer,
                              changes={"data": {**SCOPE, "tables": ["IR_BEN_R", "IR_NAT_V"]}}, reason="fixed")
        fixed_id = fixed.id
    again = workspaces.provision(platform, actor=operator_actor(), permit_id=fixed_id)
    assert again.workspace == done.workspace and again.version == 3
    with platform.db.unit_of_work() as s:
        assert s.query(Extract).filter(Extract.prefix == old_prefix).one().status == "shredded"
        with pytest.raises(KeyUnavailable):  # KEY-06: the saved copy cannot be opened any more
            key_service.unwrap_key(s, keys=platform.keys, key_id=old_key)
    assert platform.store.list(old_prefix) == [] and saved[:4] == b"PARE"  # encrypted footer ("PARE" magic)

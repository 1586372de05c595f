"""Provisioning a workspace from a permit (SPE-02, SPE-03, PSE-01…PSE-06, GOV-16, KEY-06).

Every expectation is computed here independently of the extract SQL: pyarrow over the
snapshot's files, the cohort in Python, pseudonyms with the Python reference."""

from __future__ import annotations

import json
import re
import time
from collections import defaultdict
from datetime import date, timedelta

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from bastide.airlock import service as airlock
from bastide.server import create_app
from bastide.workspaces.schemas import WorkspaceOut
from bastide.audit import service as audit
from bastide.catalogue import service as catalogue
from bastide.db import utcnow
from bastide.errors import Conflict, KeyUnavailable
from bastide.governance import optout, permits
from bastide.identity import service as identity
from bastide.identity.policy import Forbidden
from bastide.keys import service as key_service
from bastide.keys.parquet import decryption_properties
from bastide.platform import operator_actor
from bastide.workspaces import query
from bastide.workspaces import service as workspaces
from bastide.workspaces.jobs import read_output, register_output
from bastide.worker.service import drain
from bastide.workspaces.models import Extract, Output
from bastide.workspaces.pseudonym import number, pseudonym, surrogate
from bastide.query.source import open_table, snapshot_files
from tests.integration.test_permit_lifecycle import _granted
from tests.portal import session_client
from tests.services import working
from tests.snds_rules import Persons, chained, counted, fictitious, person_id, with_archive
from tests.unit.test_application_form import FULL

SQLITE_ONLY = pytest.mark.parametrize("deployment_kind", ["sqlite+local"], indirect=True)  # the deployment is irrelevant
TABLES = ["ER_PHA_F", "ER_PRS_F", "IR_BEN_R", "IR_NAT_V", "T_MCOaaB", "T_MCOaaC"]
SCOPE = {"snapshot": "snds@2024-12", "tables": TABLES, "years": [2023],
         "population": {"icd10": ["E1", "I2"], "sex": [2], "combine": "any"}}


def _snapshot_table(platform, table: str, year: int | None = None) -> pa.Table:
    with platform.db.unit_of_work() as s:
        files = snapshot_files(platform.store, catalogue.get_snapshot(s, "snds@2024-12")).files
        chosen = [f for f in files if f.table == table and (year is None or f.partition is None
                                                               or f.partition.split("=")[1].startswith(str(year)))]
        return open_table(s, store=platform.store, keys=platform.keys, files=chosen).dataset.to_table()


def _beneficiaries(platform) -> list[dict]:
    """The snapshot's IR_BEN_R rows and the archive's it lacks, as an extract reads them."""
    return with_archive(*(_snapshot_table(platform, t).to_pylist() for t in ("IR_BEN_R", "IR_BEN_R_ARC")))


def _extract_table(platform, ws_ref: str, table: str) -> pa.Table:
    with platform.db.unit_of_work() as s:
        row = s.query(Extract).filter(Extract.prefix.like(f"workspaces/{ws_ref}/%"), Extract.status == "ready").one()
        key = key_service.unwrap_key(s, keys=platform.keys, key_id=row.key_id)
        files, key_id = row.tables[table]["files"], row.key_id
    parts = []
    for path in files:  # a table is written as several files side by side
        with platform.store.fs.open_input_file(platform.store.path(path)) as fh:
            parts.append(pq.read_table(fh, decryption_properties=decryption_properties({key_id: key})))
    return pa.concat_tables(parts)


def _expected_cohort(platform) -> tuple[set[str], Persons]:
    """The persons of SCOPE's cohort (tests/snds_rules.py: a person, not a pseudo-NIR): patients
    of the 2023 stays with an E1 or I2 diagnosis, stays and their chaining as the PMSI rules keep
    them, or women; never a fictitious NIR."""
    b, c = _snapshot_table(platform, "T_MCOaaB", 2023), _snapshot_table(platform, "T_MCOaaC", 2023)
    d = _snapshot_table(platform, "T_MCOaaD", 2023)
    kept = {(str(r["ETA_NUM"]), str(r["RSA_NUM"])) for r in b.to_pylist() if counted(r)}
    hit = lambda col: pc.or_(pc.starts_with(col, "E1"), pc.starts_with(col, "I2"))  # noqa: E731
    stays = {(str(e), str(r)) for e, r in zip(*(b.filter(pc.fill_null(pc.or_(hit(b["DGN_PAL"]), hit(b["DGN_REL"])),
                                                                     False)).column(k).to_pylist()
                                               for k in ("ETA_NUM", "RSA_NUM")), strict=True)}
    stays |= {(str(e), str(r)) for e, r in zip(*(d.filter(pc.fill_null(hit(d["ASS_DGN"]), False)).column(k).to_pylist()
                                                for k in ("ETA_NUM", "RSA_NUM")), strict=True)}
    ben = _beneficiaries(platform)
    people = Persons(ben)
    patients = {people.of(row["NIR_ANO_17"], row["RNG_NAI"]) for row in c.to_pylist()
                if (str(row["ETA_NUM"]), str(row["RSA_NUM"])) in stays & kept and chained(row)}
    women = {person_id(r) for r in ben if r["BEN_SEX_COD"] == 2}
    return (patients | women) - {None} - {person_id(r) for r in ben if fictitious(r)}, people


def _care_of_2023(prs: pa.Table) -> pa.Table:
    """fiches/sas_prestation_dcir.md: a permit for 2023 holds care of 2023, paid in the flux months
    of 2023 and the 6 that follow (the default lag), never care of 2022 paid in 2023."""
    care, flux = pc.year(prs["EXE_SOI_DTD"]), prs["FLX_DIS_DTD"]
    paid = pc.and_(pc.greater_equal(flux, pa.scalar(date(2023, 1, 1))), pc.less(flux, pa.scalar(date(2024, 7, 1))))
    return prs.filter(pc.and_(pc.equal(care, 2023), paid))


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
    cohort, people = _expected_cohort(platform)
    cohort -= people.by_nir[objector]  # the person, under every pseudo-NIR (GOV-16)
    assert done.cohort == len(cohort) > 0

    beneficiaries = _extract_table(platform, done.workspace, "IR_BEN_R")
    rows = people.nirs_of(cohort)  # IR_BEN_R has a row per pseudo-NIR, each with its person's pseudonym
    assert sorted(beneficiaries["BEN_NIR_PSA"].to_pylist()) == sorted(
        pseudonym(key, people.by_pair[pair]) for pair in rows)
    assert "BEN_RES_COM" not in beneficiaries.column_names and "BEN_NAI_MOI" not in beneficiaries.column_names  # PSE-05
    assert "BEN_NAI_ANN" in beneficiaries.column_names and "BEN_IDT_ANO" in beneficiaries.column_names

    prs = _care_of_2023(_snapshot_table(platform, "ER_PRS_F"))
    mine = prs.filter(pa.array([(n, str(r)) in rows for n, r in zip(prs["BEN_NIR_PSA"].to_pylist(),
                                                                     prs["BEN_RNG_GEM"].to_pylist(), strict=True)]))
    extracted = _extract_table(platform, done.workspace, "ER_PRS_F")
    assert extracted.num_rows == mine.num_rows == done.tables["ER_PRS_F"]["rows"]
    days = pc.day(extracted["EXE_SOI_DTD"]).unique().to_pylist()
    assert days == [1]  # care dates to the month (PSE-05); flux keys exact for the 9-key join
    assert pc.day(extracted["FLX_TRT_DTD"]).unique().to_pylist() == [1]  # processed days would tell the care's
    assert sorted(extracted["FLX_DIS_DTD"].to_pylist()) == sorted(mine["FLX_DIS_DTD"].to_pylist())

    # claims and professionals carry the project's surrogates (issue 13), computed here with the reference
    claim_keys = ["DCT_ORD_NUM", "FLX_DIS_DTD", "FLX_EMT_NUM", "FLX_EMT_ORD", "FLX_EMT_TYP", "FLX_TRT_DTD", "ORG_CLE_NUM"]
    digests = [surrogate(key, "claim", *row) for row in zip(*(mine[k].to_pylist() for k in claim_keys), strict=True)]
    for slice_, name in enumerate(("DCT_ORD_NUM", "FLX_EMT_NUM", "FLX_EMT_ORD")):
        assert sorted(extracted[name].to_pylist()) == sorted(number(d, slice_) for d in digests), name
    assert sorted(extracted["PFS_EXE_NUM"].to_pylist()) == sorted(
        surrogate(key, "professional", v) if v is not None else None for v in mine["PFS_EXE_NUM"].to_pylist())
    stays = _snapshot_table(platform, "T_MCOaaB", 2023)
    got_stays = set(_extract_table(platform, done.workspace, "T_MCOaaB")["RSA_NUM"].to_pylist())
    assert got_stays and got_stays <= {surrogate(key, "RSA_NUM", 2023, e, r)[:20]
                                       for e, r in zip(stays["ETA_NUM"].to_pylist(), stays["RSA_NUM"].to_pylist(), strict=True)}

    keys = ["DCT_ORD_NUM", "FLX_DIS_DTD", "FLX_EMT_NUM", "FLX_EMT_ORD", "FLX_EMT_TYP", "FLX_TRT_DTD", "ORG_CLE_NUM",
            "PRS_ORD_NUM", "REM_TYP_AFF"]
    pha = _snapshot_table(platform, "ER_PHA_F")
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


@SQLITE_ONLY
def test_provisioning_shows_the_step_it_is_at_then_the_workspace(world):
    platform, p = world
    permit_id = _granted(platform, p, {**FULL, "data": {**SCOPE, "tables": ["IR_BEN_R", "ER_PRS_F"]}})
    seen = []

    def watch(message: str) -> None:  # what the API and the workspaces page show at each step
        with platform.db.unit_of_work() as s:
            [ws] = workspaces.list_workspaces(s)
            seen.append((message, ws.status, WorkspaceOut.build(s, ws, platform.settings).progress))

    workspaces.provision(platform, actor=operator_actor(), permit_id=permit_id, progress=watch)
    assert [m for m, _, _ in seen] == ["resolving the cohort", "extracting ER_PRS_F (1 of 2)",
                                      "extracting IR_BEN_R (2 of 2)"]
    assert all(status == "provisioning" and shown == m for m, status, shown in seen)
    with platform.db.unit_of_work() as s:
        [ws] = workspaces.list_workspaces(s)
        assert ws.status == "ready" and WorkspaceOut.build(s, ws, platform.settings).progress is None


def test_a_failed_build_leaves_nothing_and_an_amendment_shreds_the_old_extract(world):
    platform, p = world
    permit_id = _granted(platform, p, {**FULL, "data": {**SCOPE, "tables": ["IR_BEN_R"]}})
    done = workspaces.provision(platform, actor=operator_actor(), permit_id=permit_id)
    with platform.db.unit_of_work() as s:
        old = s.query(Extract).one()
        old_prefix, old_key = old.prefix, old.key_id
        saved = platform.store.get_bytes(f"{old_prefix}/IR_BEN_R/part-0.parquet")  # a copy someone kept
        result = register_output(s, platform, row=old, name="result.csv", content=b"sex,n\n1,120\n", origin={})
        result_id = result.id
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
    with platform.db.unit_of_work() as s:  # the project's results outlive the extract version they came from
        assert read_output(s, platform, s.get(Output, result_id)) == b"sex,n\n1,120\n"


def test_only_the_named_persons_enter_and_sql_sees_only_the_extract(ready):
    """SPE-01, SPE-05, SPE-10: the named researcher queries; an outsider, an instructor and the
    administrator are refused; every query and refusal is audited."""
    platform, p, _permit_id, ws_id, done = ready
    result = query.run_query(platform, actor=p["alice"], ws_id=ws_id,
                             sql="SELECT count(*) AS n, count(DISTINCT BEN_NIR_PSA) AS people FROM ER_PRS_F")
    assert result.columns == ["n", "people"] and result.rows == [[done.tables["ER_PRS_F"]["rows"], result.rows[0][1]]]
    capped = query.run_query(platform, actor=p["alice"], ws_id=ws_id, sql="SELECT * FROM ER_PRS_F")
    assert capped.row_count == min(platform.settings.workspace_query_rows, done.tables["ER_PRS_F"]["rows"])
    for outsider in (p["bob"], p["ines"], operator_actor()):
        with pytest.raises(Forbidden):
            query.run_query(platform, actor=outsider, ws_id=ws_id, sql="SELECT 1")
    with platform.db.unit_of_work() as s:
        actions = [e.action for e in audit.list_events(s, target=f"workspace:{done.workspace}", limit=10)]
    assert actions[:3] == ["workspace:refused"] * 3 and actions.count("workspace:query") == 2


ESCAPES = [
    "SELECT * FROM read_csv('/etc/passwd')",  # a file outside the extract
    "COPY (SELECT * FROM IR_BEN_R) TO '/tmp/stolen.csv'",  # writing outside the outputs
    "SET enable_external_access = true",  # changing the engine's settings
    "INSTALL httpfs",  # an extension, hence the network
    "ATTACH '/tmp/other.duckdb'",  # another database
    "SELECT * FROM snapshot_files",  # a Python object of the server, by name
    "SELECT * FROM src_IR_BEN_R",  # the snapshot itself
    "CREATE TABLE kept AS SELECT * FROM IR_BEN_R",  # data outliving the query in the shared database
    "SELECT 1; DROP VIEW IR_BEN_R",  # a second statement behind a harmless one
]


@SQLITE_ONLY
def test_escape_attempts_fail_and_are_audited(ready):
    platform, p, _permit_id, ws_id, done = ready  # one workspace for every attempt: each must leave it as it was
    for sql in ESCAPES:
        with pytest.raises(query.QueryFailed):
            query.run_query(platform, actor=p["alice"], ws_id=ws_id, sql=sql)
        assert not __import__("pathlib").Path("/tmp/stolen.csv").exists()
        with platform.db.unit_of_work() as s:
            event = audit.list_events(s, target=f"workspace:{done.workspace}", limit=1)[0]
        assert event.action == "workspace:query" and event.details["outcome"] == "query_failed", sql
        assert event.details["sql"] == sql
    answer = query.run_query(platform, actor=p["alice"], ws_id=ws_id, sql="SELECT count(*) AS n FROM IR_BEN_R")
    assert answer.rows == [[done.tables["IR_BEN_R"]["rows"]]]  # nothing was dropped or kept


@SQLITE_ONLY
def test_a_runaway_query_is_interrupted(ready):
    platform, p, _permit_id, ws_id, _done = ready
    platform.settings.workspace_query_seconds = 1
    with pytest.raises(query.QueryFailed) as exc:
        query.run_query(platform, actor=p["alice"], ws_id=ws_id,
                        sql="SELECT count(*) FROM range(100000000000) a WHERE a.range % 7 = 3")
    assert exc.value.code == "query_timeout"


def test_revocation_locks_the_workspace_and_retention_shreds_it(ready):
    """GOV-15, SPE-11, KEY-06: the running server locks within seconds; after retention a saved
    copy of the extract is unreadable."""
    platform, p, permit_id, ws_id, done = ready
    def end_on(when):  # the test's own change, audited as every write is
        with platform.db.unit_of_work() as s:
            permit = permits.get_permit(s, permit_id)
            was, permit.valid_until = permit.valid_until, when
            audit.record(s, actor=p["ines"], action="permit:issue", target="test:end-date")
        return was

    end = end_on(utcnow() - timedelta(seconds=1))  # its end date passed, not yet marked expired by the check
    with pytest.raises(Conflict, match="past its end date"):
        query.run_query(platform, actor=p["alice"], ws_id=ws_id, sql="SELECT 1")
    end_on(end)
    with platform.db.unit_of_work() as s:
        row = s.query(Extract).one()
        saved, key_id = platform.store.get_bytes(f"{row.prefix}/IR_BEN_R/part-0.parquet"), row.key_id
        permits.revoke(s, actor=p["ines"], permit=permits.get_permit(s, permit_id), reason="breach")
    with pytest.raises(Conflict) as closed:  # at once: not when the check locks it
        query.run_query(platform, actor=p["alice"], ws_id=ws_id, sql="SELECT 1")
    assert closed.value.code == "workspace_locked" and "is closed" in closed.value.message
    with platform.db.unit_of_work() as s, pytest.raises(Conflict, match="is closed"):  # nothing leaves it either
        airlock.create_request(s, actor=p["alice"], ws=workspaces.get_workspace(s, ws_id), title="late",
                               settings=platform.settings)
    platform.settings.permit_check_seconds = 1
    began = time.monotonic()
    with working(platform):  # a worker's scheduled check
        while time.monotonic() - began < 10:
            with platform.db.unit_of_work() as s:
                if workspaces.get_workspace(s, ws_id).status == "locked":
                    break
            time.sleep(0.1)
    assert time.monotonic() - began < 5
    with pytest.raises(Conflict) as exc:
        query.run_query(platform, actor=p["alice"], ws_id=ws_id, sql="SELECT 1")
    assert exc.value.code == "workspace_locked" and "revoked" in exc.value.message
    with platform.db.unit_of_work() as s:
        assert workspaces.shred_due(s, platform=platform, retention_days=183) == []
        assert [w.reference for w in workspaces.shred_due(s, platform=platform, retention_days=0)] == [done.workspace]
    with platform.db.unit_of_work() as s:
        with pytest.raises(KeyUnavailable):
            key_service.unwrap_key(s, keys=platform.keys, key_id=key_id)
    copy = platform.settings.home / "saved.parquet"
    copy.write_bytes(saved)
    with pytest.raises(OSError):  # no key opens it any more (it never left the platform in clear)
        pq.read_table(copy)
    assert platform.store.list(f"workspaces/{done.workspace}") == []


@SQLITE_ONLY
def test_the_workspace_through_the_api_and_the_sql_console(ready):
    platform, p, _permit_id, ws_id, done = ready
    app = create_app(platform)
    with platform.db.unit_of_work() as s:
        ids = {n: identity.get_user(s, f"{n}@labo.example").id for n in ("alice", "bob")}
    alice, bob = session_client(app, platform, ids["alice"]), session_client(app, platform, ids["bob"])
    assert [w["reference"] for w in alice.get("/api/workspaces").json()] == [done.workspace]
    assert bob.get("/api/workspaces").json() == []  # not named in the permit: not even listed
    home = alice.get(f"/api/workspaces/{ws_id}").json()
    assert home["tables"]["IR_BEN_R"]["rows"] == done.tables["IR_BEN_R"]["rows"]
    assert "BEN_NIR_PSA" in home["tables"]["IR_BEN_R"]["columns"]
    assert home["engine"] == "duckdb"  # the permit names none: the platform's
    answer = alice.post(f"/api/workspaces/{ws_id}/queries", json={"sql": "SELECT count(*) AS n FROM IR_BEN_R"})
    assert answer.json()["rows"] == [[done.tables["IR_BEN_R"]["rows"]]]
    refused = bob.post(f"/api/workspaces/{ws_id}/queries", json={"sql": "SELECT 1"})
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "forbidden"
    bad = alice.post(f"/api/workspaces/{ws_id}/queries", json={"sql": "SELEC nothing"})
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "query_failed"

    saved = alice.post(f"/api/workspaces/{ws_id}/queries/save",
                       json={"sql": "SELECT * FROM ER_PRS_F", "name": "prs", "format": "parquet"})
    assert saved.status_code == 201 and saved.json() == {"name": "prs.parquet", "rows": done.tables["ER_PRS_F"]["rows"]}
    output = alice.get(f"/api/workspaces/{ws_id}/outputs").json()[0]
    assert output["name"] == "prs.parquet" and output["provenance"]["query"] == "SELECT * FROM ER_PRS_F"
    kept = alice.post(f"/workspaces/{ws_id}/query", data={"sql": "SELECT 1 AS one", "name": "one", "save": "csv",
                                                          "csrf_token": alice.headers["X-CSRF-Token"]})
    assert 'id="saved"' in kept.text and "one.csv" in kept.text
    page = alice.post(f"/workspaces/{ws_id}/query", data={"sql": "SELECT BEN_SEX_COD, count(*) AS n FROM IR_BEN_R "
                                                                 "GROUP BY 1 ORDER BY 1",
                                                          "csrf_token": alice.headers["X-CSRF-Token"]})
    assert page.status_code == 200 and 'id="result"' in page.text and "<th>n</th>" in page.text
    failed = alice.post(f"/workspaces/{ws_id}/query", data={"sql": "SELECT * FROM read_csv('/etc/passwd')",
                                                            "csrf_token": alice.headers["X-CSRF-Token"]})
    assert failed.status_code == 422 and "disabled" in failed.text
    # issue 18, item 8: her own latest queries, newest first, each to run again; never another's
    history = re.search(r'<details id="history"[^>]*>(.*?)</details>', alice.get(f"/workspaces/{ws_id}").text,
                        re.DOTALL).group(1)
    runs = re.findall(r"<pre>(.*?)</pre>", history, re.DOTALL)
    assert runs[0] == "SELECT * FROM read_csv(&#39;/etc/passwd&#39;)" and "SELECT 1 AS one" in runs
    assert "refused" in history or "refusée" in history  # the failed one says so
    assert history.count('name="sql" value=') == len(runs) and "SELECT 1" not in bob.get(f"/workspaces/{ws_id}").text


@SQLITE_ONLY
def test_a_drug_cohort_by_atc_class(world):
    """Persons with a dispensation of one 4-character ATC class, checked in pyarrow from the
    documentation: the class is IR_PHA_R's PHA_ATC_C07 by the line's CIP13 (fiches/medicament.md);
    information lines (DPN_QLF 71) and prestations without nature do not count, and a dispensation
    cancelled by a negative line of the same drug and day is none (fiches/sas_prestation_dcir.md);
    care of 2023 paid until the lag; never a fictitious NIR (fiches/fiche_beneficiaire.md)."""
    platform, p = world
    pha, prs, drugs = (_snapshot_table(platform, t) for t in ("ER_PHA_F", "ER_PRS_F", "IR_PHA_R"))
    prs, people = _care_of_2023(prs), Persons(_beneficiaries(platform))
    classes = dict(zip(drugs["PHA_CIP_C13"].to_pylist(), drugs["PHA_ATC_C07"].to_pylist(), strict=True))
    keys = ["DCT_ORD_NUM", "FLX_DIS_DTD", "FLX_EMT_NUM", "FLX_EMT_ORD", "FLX_EMT_TYP", "FLX_TRT_DTD", "ORG_CLE_NUM",
            "PRS_ORD_NUM", "REM_TYP_AFF"]
    counted = {tuple(r[k] for k in keys): r for r in prs.to_pylist()
               if r["DPN_QLF"] != 71 and r["PRS_DPN_QLP"] != 71 and r["BSE_PRS_NAT"] != 0 and not fictitious(r)}
    boxes = defaultdict(int)
    for line in pha.to_pylist():
        claim = counted.get(tuple(line[k] for k in keys))
        if claim is not None:
            atc4 = (classes.get(line["PHA_PRS_C13"]) or "")[:4]
            person = people.of(claim["BEN_NIR_PSA"], claim["BEN_RNG_GEM"])  # a person, not a pseudo-NIR
            boxes[(person, line["PHA_PRS_C13"], atc4, claim["EXE_SOI_DTD"])] += line["PHA_ACT_QSN"]
    by_class = defaultdict(set)
    for (person, _cip, atc4, _day), n in boxes.items():
        if n > 0 and len(atc4) == 4:
            by_class[atc4].add(person)
    atc = max(sorted(by_class), key=lambda c: len(by_class[c]))
    scope = {**SCOPE, "tables": ["IR_BEN_R"], "population": {"atc": [atc]}}
    done = workspaces.provision(platform, actor=operator_actor(),
                                permit_id=_granted(platform, p, {**FULL, "data": scope}))
    key = _pseudonym_key(platform, done.workspace)
    extracted = _extract_table(platform, done.workspace, "IR_BEN_R")["BEN_NIR_PSA"].to_pylist()
    assert set(extracted) == {pseudonym(key, n) for n in by_class[atc]} and len(by_class[atc]) > 0


@SQLITE_ONLY
def test_the_workers_provision_newly_active_permits(world):
    """SPE-02: a permit that becomes active gets its workspace without an operator: the scheduled
    check queues its build (once), a worker builds it."""
    platform, p = world
    permit_id = _granted(platform, p, {**FULL, "data": {**SCOPE, "tables": ["IR_BEN_R"]}})
    with platform.db.unit_of_work() as s:
        assert workspaces.pending_permits(s) == [permit_id]
    with platform.db.unit_of_work() as s:
        assert workspaces.provision_pending(s, keys=platform.keys) == ["WS-000001"]
    with platform.db.unit_of_work() as s:
        assert workspaces.pending_permits(s) == []  # queued: not queued again
        row = s.query(Extract).one()
        assert (row.status, row.claimed_by, row.workspace.status) == ("building", None, "provisioning")
    assert drain(platform, checks_first=False)[:2] == (1, 0)
    with platform.db.unit_of_work() as s:
        row = s.query(Extract).one()
        assert (row.status, row.workspace.status) == ("ready", "ready") and row.claimed_by.startswith("worker@")
        assert workspaces.pending_permits(s) == []
        amended = permits.amend(s, actor=p["ines"], permit=permits.get_permit(s, permit_id), signer=platform.signer,
                                changes={"tools": "R"}, reason="tools").id
    with platform.db.unit_of_work() as s:
        assert workspaces.pending_permits(s) == [amended]


def test_each_table_keeps_its_own_variables_and_the_keys_that_join_it(world):
    """Issue 18, item 2: variables are chosen per table. ER_PRS_F keeps the two asked, the 9 DCIR
    join keys (fiches/prestation.md) and its person (BEN_NIR_PSA, as the project's pseudonym);
    ER_PHA_F the CIP13 asked and the same 9 keys; IR_BEN_R, given no variable, keeps every column
    but those PSE-05 drops (birth month, commune of residence)."""
    platform, p = world
    dcir_keys = {"DCT_ORD_NUM", "FLX_DIS_DTD", "FLX_EMT_NUM", "FLX_EMT_ORD", "FLX_EMT_TYP", "FLX_TRT_DTD", "ORG_CLE_NUM",
                 "PRS_ORD_NUM", "REM_TYP_AFF"}
    data = {"snapshot": "snds@2024-12", "tables": ["ER_PRS_F", "ER_PHA_F", "IR_PHA_R", "IR_BEN_R"], "years": [2023],
            "population": {"sex": [2]},
            "columns": {"ER_PRS_F": ["PRS_NAT_REF", "EXE_SOI_DTD"], "ER_PHA_F": ["PHA_PRS_C13"]}}
    done = workspaces.provision(platform, actor=operator_actor(), permit_id=_granted(platform, p, {**FULL, "data": data}))
    prs = _extract_table(platform, done.workspace, "ER_PRS_F")
    assert set(prs.column_names) == {"PRS_NAT_REF", "EXE_SOI_DTD", "BEN_NIR_PSA"} | dcir_keys and prs.num_rows > 0
    assert set(_extract_table(platform, done.workspace, "ER_PHA_F").column_names) == {"PHA_PRS_C13"} | dcir_keys
    ben = _snapshot_table(platform, "IR_BEN_R")
    assert set(_extract_table(platform, done.workspace, "IR_BEN_R").column_names) == \
        set(ben.column_names) - {"BEN_NAI_MOI", "BEN_RES_COM"}

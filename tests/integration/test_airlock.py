"""Release requests out of a workspace (SPE-07, SPE-08, AUD-09): checks at each step, two
independent blind reviews, a signed release that verifies offline, and the abuses refused."""

from __future__ import annotations

import hashlib
import json
import re
from datetime import date, timedelta

import pytest
from alembic import command
from sqlalchemy import select

from bastide.airlock import imports
from bastide.airlock import service as airlock
from bastide.airlock.rules import Parameters
from bastide.server import create_app
from bastide.airlock.verify import verify_release
from bastide.audit import service as audit
from bastide.errors import Conflict, InvalidInput, NotFound, TransitionNotAllowed
from bastide.governance import permits
from bastide.identity import service as identity
from bastide.identity.policy import Forbidden
from bastide.platform import operator_actor
from bastide.workspaces import service as workspaces
from bastide.workspaces import brought, jobs
from bastide.workspaces.models import BroughtFile
from bastide.db import _alembic_config
from bastide.workspaces.jobs import register_output
from tests.integration.test_permit_lifecycle import _granted
from tests.portal import session_client
from tests.workspace_fixtures import NAMED

SQLITE_ONLY = pytest.mark.parametrize("deployment_kind", ["sqlite+local"], indirect=True)
SMALL = "sex,age,n\n1,0-17,120\n1,65+,7\n2,0-17,110\n2,65+,45\n"
SUPPRESSED = "sex,age,n\n1,0-17,c\n1,65+,<10\n2,0-17,c\n2,65+,c\n"


@pytest.fixture
def airlock_world(ready):
    """The ready workspace (alice named on its permit) and two output checkers of the access body."""
    platform, p, permit_id, ws_id, done = ready
    with platform.db.unit_of_work() as s:
        hdh = identity.get_user(s, "ines@hdh.example").organisation
        for name in ("olga", "oscar"):
            identity.create_user(s, actor=operator_actor(), email=f"{name}@hdh.example", name=name, organisation=hdh,
                                 roles={"output_checker"}, end_of_rights=date.today() + timedelta(days=30))
    with platform.db.unit_of_work() as s:
        for name in ("olga", "oscar"):
            p[name] = identity.actor_of(identity.get_user(s, f"{name}@hdh.example"))
    return platform, p, ws_id


def _output(platform, ws_id: int, name: str, text: str) -> int:
    with platform.db.unit_of_work() as s:
        row = workspaces.current_extract(s, workspaces.get_workspace(s, ws_id))
        return register_output(s, platform, row=row, name=name, content=text.encode(), origin={"test": True}).id


def _request(platform, p, ws_id: int) -> int:
    with platform.db.unit_of_work() as s:
        return airlock.create_request(s, actor=p["alice"], ws=workspaces.get_workspace(s, ws_id),
                                      title="Prevalence by age", settings=platform.settings).id


def _drafted(platform, p, ws_id: int) -> int:
    """A draft request of alice's holding t.csv, a table that passes the checks."""
    req = _request(platform, p, ws_id)
    _do(platform, airlock.add_file, req, platform=platform, actor=p["alice"],
        output_id=_output(platform, ws_id, "t.csv", SUPPRESSED), description="counts")
    return req


def _do(platform, fn, request_id: int, /, **kwargs):
    """One service call in its own transaction, as a view would make it."""
    with platform.db.unit_of_work() as s:
        return fn(s, request=airlock.get_request(s, request_id), **kwargs)


def _status(platform, request_id: int) -> str:
    with platform.db.unit_of_work() as s:
        return airlock.get_request(s, request_id).status


def test_done_when_a_small_cell_is_blocked_then_two_checkers_release_it_signed(airlock_world, tmp_path):
    platform, p, ws_id = airlock_world
    req = _request(platform, p, ws_id)
    small = _output(platform, ws_id, "prevalence.csv", SMALL)
    file = _do(platform, airlock.add_file, req, platform=platform, actor=p["alice"], output_id=small,
               description="Diabetics by sex and age group, 2023, counts of persons")
    [cell] = [f for f in file.report["findings"] if f["rule"] == "min_count"]
    assert file.report["status"] == "blocked" and cell["cell"] == "sex=1, age=65+" and cell["value"] == 7
    with pytest.raises(InvalidInput, match="blocked by min_count"):
        _do(platform, airlock.submit, req, platform=platform, actor=p["alice"])

    fixed = _output(platform, ws_id, "prevalence.csv", SUPPRESSED)  # the same name, a newer output
    file = _do(platform, airlock.add_file, req, platform=platform, actor=p["alice"], output_id=fixed,
               description="Diabetics by sex and age group, 2023; cells under 10 and their complements suppressed")
    assert file.report["status"] == "pass"
    _do(platform, airlock.submit, req, platform=platform, actor=p["alice"])

    _do(platform, airlock.vote, req, actor=p["olga"], name="prevalence.csv", decision="approve")
    with platform.db.unit_of_work() as s:  # blind: oscar sees no vote before his own
        request = airlock.get_request(s, req)
        assert request.status == "partially_reviewed"
        assert airlock.visible_votes(p["oscar"], request, request.files[0]) == []
        assert len(airlock.visible_votes(p["olga"], request, request.files[0])) == 1
    _do(platform, airlock.vote, req, actor=p["oscar"], name="prevalence.csv", decision="approve")
    assert _status(platform, req) == "reviewed"
    release = _do(platform, airlock.decide, req, platform=platform, actor=p["olga"], action="approve")
    assert _status(platform, req) == "released"

    with platform.db.unit_of_work() as s:
        rel = airlock.get_release(s, release.id)
        folder = tmp_path / rel.reference
        folder.mkdir()
        for name in ("prevalence.csv", "RELEASE.json"):
            (folder / name).write_bytes(airlock.download(s, platform=platform, actor=p["alice"], release=rel, name=name))
    record = json.loads((folder / "RELEASE.json").read_text())["document"]
    assert [v["reviewer"] for v in record["files"][0]["votes"]] == ["user:olga@hdh.example", "user:oscar@hdh.example"]
    assert record["files"][0]["provenance"]["snapshot"] == "snds@2024-12" and record["parameters"]["threshold"] == 10
    public = platform.signer.public_pem()
    assert verify_release(folder, public_pem=public).ok
    (folder / "prevalence.csv").write_text(SMALL)  # someone "restores" the small cell
    assert verify_release(folder, public_pem=public).changed == ["prevalence.csv"]
    (folder / "RELEASE.json").write_text((folder / "RELEASE.json").read_text().replace("olga", "eve"))
    assert not verify_release(folder, public_pem=public).signature_ok
    with platform.db.unit_of_work() as s:
        actions = [e.action for e in audit.list_events(s, target=f"release:{rel.reference}", limit=5)]
    assert actions == ["release:download"] * 2


@SQLITE_ONLY
def test_who_may_review_and_how_often(airlock_world):
    platform, p, ws_id = airlock_world
    req = _drafted(platform, p, ws_id)
    with pytest.raises(Forbidden):  # bob is not named on the permit
        _do(platform, airlock.submit, req, platform=platform, actor=p["bob"])
    _do(platform, airlock.submit, req, platform=platform, actor=p["alice"])
    with pytest.raises(Forbidden, match="independent checker"):  # her own request
        _do(platform, airlock.vote, req, actor=p["alice"], name="t.csv", decision="approve")
    with pytest.raises(TransitionNotAllowed, match="output_checker"):  # an instructor is not a checker
        _do(platform, airlock.vote, req, actor=p["ines"], name="t.csv", decision="approve")
    with pytest.raises(Conflict, match="vote on t.csv first") as unseen:  # issue 18, item 6: review, then decide
        _do(platform, airlock.decide, req, platform=platform, actor=p["olga"], action="reject", comment="no")
    assert unseen.value.code == "vote_first"
    _do(platform, airlock.vote, req, actor=p["olga"], name="t.csv", decision="approve")
    with platform.db.unit_of_work() as s:
        request = airlock.get_request(s, req)
        assert airlock.can_decide(p["olga"], request, "return") and not airlock.can_decide(p["oscar"], request, "return")
    with pytest.raises(Conflict, match="already voted"):
        _do(platform, airlock.vote, req, actor=p["olga"], name="t.csv", decision="approve")
    with pytest.raises(InvalidInput, match="say why"):
        _do(platform, airlock.vote, req, actor=p["oscar"], name="t.csv", decision="return")
    _do(platform, airlock.vote, req, actor=p["oscar"], name="t.csv", decision="return", comment="label the ages")
    with pytest.raises(Conflict, match="did not get only approvals"):
        _do(platform, airlock.decide, req, platform=platform, actor=p["olga"], action="approve")
    _do(platform, airlock.decide, req, platform=platform, actor=p["olga"], action="return", comment="see oscar")

    # a changed file is reviewed anew: earlier votes no longer count
    _do(platform, airlock.add_file, req, platform=platform, actor=p["alice"],
        output_id=_output(platform, ws_id, "t.csv", SUPPRESSED.replace("0-17", "0 to 17")), description="counts")
    _do(platform, airlock.submit, req, platform=platform, actor=p["alice"])
    with platform.db.unit_of_work() as s:
        request = airlock.get_request(s, req)
        assert request.status == "submitted" and request.files[0].round == 2
        assert airlock.current_votes(request.files[0]) == []


@SQLITE_ONLY
def test_nothing_is_released_once_the_permit_is_revoked(airlock_world):
    """GOV-15 (revocation stops the processing), SPE-07: a request both checkers approved is not
    released once its project's permit is revoked, even before the scheduled check locks the workspace."""
    platform, p, ws_id = airlock_world
    req = _drafted(platform, p, ws_id)
    _do(platform, airlock.submit, req, platform=platform, actor=p["alice"])
    for checker in ("olga", "oscar"):
        _do(platform, airlock.vote, req, actor=p[checker], name="t.csv", decision="approve")
    with platform.db.unit_of_work() as s:
        permits.revoke(s, actor=p["ines"], permit=workspaces.get_workspace(s, ws_id).permit, reason="breach")
    with pytest.raises(Conflict, match="revoked: nothing more leaves") as refused:
        _do(platform, airlock.decide, req, platform=platform, actor=p["oscar"], action="approve")
    assert refused.value.code == "permit_ended"
    _do(platform, airlock.decide, req, platform=platform, actor=p["oscar"], action="reject", comment="permit revoked")
    assert _status(platform, req) == "rejected"
    with platform.db.unit_of_work() as s:
        assert airlock.release_of(s, airlock.get_request(s, req)) is None


@SQLITE_ONLY
def test_downloads_are_for_the_permit_persons_and_stop_at_revocation(airlock_world):
    platform, p, ws_id = airlock_world
    unreleased = _output(platform, ws_id, "other.csv", SUPPRESSED)
    req = _drafted(platform, p, ws_id)
    _do(platform, airlock.submit, req, platform=platform, actor=p["alice"])
    for checker in ("olga", "oscar"):
        _do(platform, airlock.vote, req, actor=p[checker], name="t.csv", decision="approve")
    release = _do(platform, airlock.decide, req, platform=platform, actor=p["oscar"], action="approve")
    with platform.db.unit_of_work() as s:
        rel = airlock.get_release(s, release.id)
        with pytest.raises(Forbidden):
            airlock.download(s, platform=platform, actor=p["bob"], release=rel, name="t.csv")
        with pytest.raises(Forbidden):
            airlock.download(s, platform=platform, actor=p["olga"], release=rel, name="t.csv")
        with pytest.raises(NotFound):
            airlock.download(s, platform=platform, actor=p["alice"], release=rel, name="other.csv")
        assert unreleased and not platform.store.exists(f"{rel.prefix}/other.csv")
    with platform.db.unit_of_work() as s:
        airlock.revoke(s, actor=p["olga"], release=airlock.get_release(s, release.id), reason="differencing found")
    with platform.db.unit_of_work() as s, pytest.raises(Conflict, match="revoked"):
        airlock.download(s, platform=platform, actor=p["alice"], release=airlock.get_release(s, release.id),
                         name="t.csv")


@SQLITE_ONLY
def test_the_api_from_check_to_signed_download(airlock_world):
    platform, p, ws_id = airlock_world
    app = create_app(platform)
    with platform.db.unit_of_work() as s:
        ids = {n: identity.get_user(s, f"{n}@{'labo' if n in ('alice', 'bob') else 'hdh'}.example").id
               for n in ("alice", "bob", "olga", "oscar")}
    alice, bob, olga, oscar = (session_client(app, platform, ids[n]) for n in ("alice", "bob", "olga", "oscar"))
    small = _output(platform, ws_id, "small.csv", SMALL)
    checked = alice.post(f"/api/workspaces/{ws_id}/outputs/{small}/check").json()
    assert checked["status"] == "blocked" and checked["findings"][0]["cell"] == "sex=1, age=65+"
    assert checked["findings"][0]["message"] == ("the cell (sex=1, age=65+) counts 7, fewer than 10: suppress it or "
                                                 "group categories")
    assert (checked["findings"][0]["said"], checked["findings"][0]["values"]) == (
        "small_count", {"cell": "sex=1, age=65+", "count": "7", "threshold": "10"})
    page = alice.get(f"/workspaces/{ws_id}/outputs/{small}/check")  # issue 18, item 4: said in the page's language
    assert "la cellule (sex=1, age=65+) compte 7, moins que 10 : masquez-la ou regroupez des catégories" in page.text
    assert "counts 7, fewer than 10: suppress it" in alice.get(f"/workspaces/{ws_id}/outputs/{small}/check?lang=en").text
    assert bob.post(f"/api/workspaces/{ws_id}/outputs/{small}/check").status_code == 403

    req = alice.post(f"/api/workspaces/{ws_id}/releases", json={"title": "Prevalence"}).json()
    put = alice.put(f"/api/releases/{req['id']}/files", json={"output_id": small, "description": "counts"})
    assert put.json()["files"][0]["report"]["status"] == "blocked"
    refused = alice.post(f"/api/releases/{req['id']}/actions", json={"action": "submit"})
    assert refused.status_code == 422 and "min_count" in refused.json()["error"]["message"]
    assert olga.get(f"/api/releases/{req['id']}").status_code == 403  # a draft is the researcher's alone
    fixed = _output(platform, ws_id, "small.csv", SUPPRESSED)
    alice.put(f"/api/releases/{req['id']}/files", json={"output_id": fixed, "description": "counts, suppressed"})
    assert alice.post(f"/api/releases/{req['id']}/actions", json={"action": "submit"}).json()["status"] == "submitted"

    assert [r["reference"] for r in olga.get("/api/airlock/queue").json()] == [req["reference"]]
    assert olga.get(f"/api/releases/{req['id']}/files/small.csv").content == SUPPRESSED.encode()
    olga.post(f"/api/releases/{req['id']}/votes", json={"file": "small.csv", "decision": "approve"})
    blind = oscar.get(f"/api/releases/{req['id']}").json()
    assert blind["status"] == "partially_reviewed" and blind["files"][0]["votes"] == []
    again = olga.post(f"/api/releases/{req['id']}/votes", json={"file": "small.csv", "decision": "approve"})
    assert again.status_code == 409 and again.json()["error"]["code"] == "already_voted"
    oscar.post(f"/api/releases/{req['id']}/votes", json={"file": "small.csv", "decision": "approve"})
    done = oscar.post(f"/api/releases/{req['id']}/actions", json={"action": "approve"}).json()
    assert done["status"] == "released" and done["release"]["reference"].startswith("REL-")

    released = alice.get(f"/api/releases/{req['id']}/released/small.csv").content
    assert _rows(released) == _rows(SUPPRESSED.encode())  # the same table, written anew by the platform
    record = alice.get(f"/api/releases/{req['id']}/released/RELEASE.json").json()
    entry = record["document"]["files"][0]
    assert entry["reviewed_sha256"] == done["files"][0]["sha256"] and entry["sha256"] == hashlib.sha256(released).hexdigest()
    assert bob.get(f"/api/releases/{req['id']}/released/small.csv").status_code == 403
    assert alice.get(f"/api/releases/{req['id']}/released/other.csv").status_code == 404


def _rows(content: bytes) -> list[list[str]]:
    import csv
    import io

    return list(csv.reader(io.StringIO(content.decode())))


def _released_through(platform, p, ws_id: int, name: str, text: str) -> None:
    req = _request(platform, p, ws_id)
    _do(platform, airlock.add_file, req, platform=platform, actor=p["alice"],
        output_id=_output(platform, ws_id, name, text), description="counts")
    _do(platform, airlock.submit, req, platform=platform, actor=p["alice"])
    for checker in ("olga", "oscar"):
        _do(platform, airlock.vote, req, actor=p[checker], name=name, decision="approve")
    _do(platform, airlock.decide, req, platform=platform, actor=p["olga"], action="approve")


@SQLITE_ONLY
def test_the_ledger_catches_a_differencing_pair_across_the_holders_projects(airlock_world):
    """All diabetics by sex are released from one project; the same lab's other project asks for
    those not over 90 by sex: the 3 persons over 90 would be isolated."""
    platform, p, ws_id = airlock_world
    _released_through(platform, p, ws_id, "all.csv", "sex,n\n1,120\n2,130\n")
    other_permit = _granted(platform, p, NAMED)
    workspaces.provision(platform, actor=operator_actor(), permit_id=other_permit)
    with platform.db.unit_of_work() as s:
        other_ws = next(w.id for w in workspaces.list_workspaces(s) if w.id != ws_id)
    req = _request(platform, p, other_ws)
    file = _do(platform, airlock.add_file, req, platform=platform, actor=p["alice"],
               output_id=_output(platform, other_ws, "under90.csv", "sex,n\n1,118\n2,129\n"),
               description="diabetics aged 90 or less")
    [found] = [f for f in file.report["findings"] if f["rule"] == "differencing"]
    assert file.report["status"] == "blocked" and found["value"] == 3 and found["parameters"]["file"] == "all.csv"
    same = _do(platform, airlock.add_file, req, platform=platform, actor=p["alice"],
               output_id=_output(platform, other_ws, "by_age.csv", "age,n\n0-64,140\n65+,110\n"),
               description="the same diabetics by age")
    assert same.report["status"] == "pass"


# -- the import lane (SPE-09) ---------------------------------------------------------------------

def _import(platform, p, ws_id: int, name: str, content: bytes, who: str = "alice"):
    with platform.db.unit_of_work() as s:
        return imports.request_import(s, platform=platform, actor=p[who], ws=workspaces.get_workspace(s, ws_id),
                                      name=name, content=content, purpose="a codelist for the outcome").id


def _decide_import(platform, actor, import_id: int, action: str, comment: str = "") -> None:
    with platform.db.unit_of_work() as s:
        imports.decide(s, actor=actor, imp=imports.get_import(s, import_id), action=action, comment=comment)


@SQLITE_ONLY
def test_an_approved_import_is_read_by_the_workspace_jobs(airlock_world):
    platform, p, ws_id = airlock_world
    codes = b"code,label\nE10,type 1 diabetes\nE11,type 2 diabetes\n"
    imp = _import(platform, p, ws_id, "codelist.csv", codes)
    with pytest.raises(Forbidden):  # the researcher does not approve her own import
        _decide_import(platform, p["alice"], imp, "approve")
    _decide_import(platform, p["olga"], imp, "approve")
    with platform.db.unit_of_work() as s:
        row = imports.get_import(s, imp)
        assert (row.status, row.reviewer, row.sha256) == ("approved", "user:olga@hdh.example",
                                                          hashlib.sha256(codes).hexdigest())
        events = [e.action for e in audit.list_events(s, target=f"import:{row.reference}", limit=5)]
    assert events == ["import:approve", "import:submit"]
    job = jobs.run(platform, job_id=jobs.submit(platform, actor=p["alice"], ws_id=ws_id, name="codes", kind="python",
                   script="from bastide import workspace\nprint(workspace.imported('codelist.csv').read_text())\n"))
    assert job.status == "succeeded" and "type 2 diabetes" in job.log, job.log
    with platform.db.unit_of_work() as s:  # handed over to the workspace, which never reads the airlock's rows
        assert [(b.name, b.source, b.sha256) for b in s.execute(select(BroughtFile)).scalars()] == [
            ("codelist.csv", f"IMP-{imp:06d}", hashlib.sha256(codes).hexdigest())]


@SQLITE_ONLY
def test_imports_approved_before_the_hand_over_are_handed_over_by_the_migration(airlock_world):
    """Migration 0021: the files approved before it are the workspace's afterwards (the same
    sealed objects), in the order they were asked for; a rejected one is not."""
    platform, p, ws_id = airlock_world
    first = _import(platform, p, ws_id, "codes.csv", b"code\nE10\n")
    _decide_import(platform, p["olga"], first, "approve")
    second = _import(platform, p, ws_id, "codes.csv", b"code\nE11\n")  # the same name, newer: it wins
    _decide_import(platform, p["olga"], second, "approve")
    refused = _import(platform, p, ws_id, "other.csv", b"x\n1\n")
    _decide_import(platform, p["olga"], refused, "reject", comment="not needed")
    command.downgrade(_alembic_config(platform.db.url), "0020")  # as it was before: no hand-over table
    platform.db.migrate("head")
    with platform.db.unit_of_work() as s:
        handed = [(b.name, b.source) for b in s.execute(select(BroughtFile).order_by(BroughtFile.id)).scalars()]
        assert handed == [("codes.csv", f"IMP-{first:06d}"), ("codes.csv", f"IMP-{second:06d}")]
        assert brought.files(s, platform=platform, ws_id=ws_id) == {"codes.csv": b"code\nE11\n"}


BAD_IMPORTS = [("../escape.py", b"print(1)", "no folder"), (".bashrc", b"x", "no folder"),
               ("tool.exe", b"MZ", "only .py"), ("empty.csv", b"", "1 byte")]


@SQLITE_ONLY
def test_bad_imports_are_refused_with_the_reason(airlock_world):
    platform, p, ws_id = airlock_world  # one workspace for all the cases: each is refused before anything is kept
    for name, content, says in BAD_IMPORTS:
        with pytest.raises(InvalidInput, match=says):
            _import(platform, p, ws_id, name, content)
    with platform.db.unit_of_work() as s:
        assert imports.list_imports(s, ws=workspaces.get_workspace(s, ws_id)) == []


@SQLITE_ONLY
def test_identifiers_cannot_come_in(airlock_world):
    platform, p, ws_id = airlock_world
    table = "patient,n\n" + "".join(f"{'ab' * 32},{i}\n" for i in range(3))
    imp = _import(platform, p, ws_id, "cohort.csv", table.encode())
    nir = _import(platform, p, ws_id, "notes.txt", b"follow up 185057800608436 next week\n")
    with platform.db.unit_of_work() as s:
        assert imports.get_import(s, imp).report["status"] == imports.get_import(s, nir).report["status"] == "blocked"
    with pytest.raises(Conflict, match="identifiers"):
        _decide_import(platform, p["olga"], imp, "approve")
    with pytest.raises(InvalidInput, match="say why"):
        _decide_import(platform, p["olga"], imp, "reject")
    _decide_import(platform, p["olga"], imp, "reject", "pseudonyms from another project")
    _decide_import(platform, p["alice"], nir, "withdraw")
    with platform.db.unit_of_work() as s:
        assert [i.status for i in imports.list_imports(s, ws=workspaces.get_workspace(s, ws_id))] == \
            ["withdrawn", "rejected"]


@SQLITE_ONLY
def test_a_permit_can_carry_its_own_output_policy(airlock_world):
    """Policy per permit: the access body asks one approval and cells of 11 (a PMSI profile)."""
    platform, p, ws_id = airlock_world
    platform.settings.airlock_dataset_thresholds = {"snds": 12}  # the dataset's profile, without a permit policy
    with platform.db.unit_of_work() as s:
        assert airlock.get_request(s, _request(platform, p, ws_id)).parameters["threshold"] == 12
    with pytest.raises(InvalidInput, match="output_policy"), platform.db.unit_of_work() as s:
        permits.amend(s, actor=p["ines"], permit=workspaces.get_workspace(s, ws_id).permit, signer=platform.signer,
                      changes={"output_policy": {"approvals": 0}}, reason="typo")
    with platform.db.unit_of_work() as s:
        amended = permits.amend(s, actor=p["ines"], permit=workspaces.get_workspace(s, ws_id).permit,
                                signer=platform.signer, changes={"output_policy": {"approvals": 1, "threshold": 11}},
                                reason="PMSI profile")
        amended_id = amended.id
    workspaces.provision(platform, actor=operator_actor(), permit_id=amended_id)
    req = _request(platform, p, ws_id)
    file = _do(platform, airlock.add_file, req, platform=platform, actor=p["alice"], description="counts",
               output_id=_output(platform, ws_id, "ten.csv", "sex,n\n1,10\n2,40\n"))
    assert file.report["status"] == "blocked" and file.report["findings"][0]["parameters"] == {"threshold": 11}
    with platform.db.unit_of_work() as s:
        assert airlock.get_request(s, req).approvals_required == 1
    # the permit's own threshold (11) wins over the dataset's profile (12)

@SQLITE_ONLY
def test_dominance_evidence_is_read_beside_the_table_and_never_leaves(airlock_world):
    platform, p, ws_id = airlock_world
    table = _output(platform, ws_id, "costs.csv", "region,n,total\nnord,25,1000\nsud,30,1000\n")
    evidence = _output(platform, ws_id, "costs.csv.sdc.csv", "region,top1,top2\nnord,950,20\nsud,450,440\n")
    req = _request(platform, p, ws_id)
    file = _do(platform, airlock.add_file, req, platform=platform, actor=p["alice"], output_id=table,
               description="amounts paid by region")
    [dominated] = [f for f in file.report["findings"] if f["rule"] == "dominance"]
    assert dominated["cell"] == "region=nord" and "p% rule" in dominated["message"]
    kept = _do(platform, airlock.add_file, req, platform=platform, actor=p["alice"], output_id=evidence,
               description="the evidence", exception="please")
    assert kept.report["findings"][0]["rule"] == "gate"
    _do(platform, airlock.remove_file, req, actor=p["alice"], name="costs.csv")
    with pytest.raises(InvalidInput, match="cannot leave"):  # not even with an exception
        _do(platform, airlock.submit, req, platform=platform, actor=p["alice"])


@SQLITE_ONLY
def test_a_job_writes_a_table_with_its_evidence_for_the_airlock(airlock_world):
    platform, p, ws_id = airlock_world
    script = ("from bastide import workspace\n"
              "prs = workspace.table('ER_PRS_F').to_pandas()\n"
              "workspace.release_table(prs, ['BEN_SEX_COD'], name='paid.csv', value='PRS_PAI_MNT',\n"
              "                        persons='BEN_NIR_PSA', contributor='BEN_NIR_PSA')\n")
    job = jobs.run(platform, job_id=jobs.submit(platform, actor=p["alice"], ws_id=ws_id, name="paid", kind="python",
                                                script=script))
    assert job.status == "succeeded", job.log
    with platform.db.unit_of_work() as s:
        outputs = {o.name: o for o in jobs.list_outputs(s, workspaces.get_workspace(s, ws_id))}
        assert {"paid.csv", "paid.csv.sdc.csv", "paid.csv.sdc.json"} <= set(outputs)
        report = airlock.check_output(s, platform, outputs["paid.csv"], Parameters())
    assert report["structure"]["kind"] == "magnitude" and report["structure"]["top"] == ["top1", "top2"]
    assert "evidence_inside" not in {f["rule"] for f in report["findings"]}


def test_a_checker_reviews_a_table_in_place_with_the_problem_cells_marked(airlock_world):
    """Issue 18, item 7: "View" downloaded the file; the checker now reads it on a page — the
    cell the minimum-count rule blocks (sex 1, 65+, 7 persons) marked, the findings beside it,
    the provenance — under the checker-review rule, audited, for an independent checker only."""
    from bastide.web.review import _marked
    from tests.portal import client_for, session_client

    platform, p, ws_id = airlock_world
    req = _request(platform, p, ws_id)
    _do(platform, airlock.add_file, req, platform=platform, actor=p["alice"],
        output_id=_output(platform, ws_id, "small.csv", SMALL), description="counts by sex and age",
        exception="the 65+ cell is published by the national statistics office")
    app = create_app(platform)
    with platform.db.unit_of_work() as s:
        olga = session_client(app, platform, identity.get_user(s, "olga@hdh.example").id)
        alice = session_client(app, platform, identity.get_user(s, "alice@labo.example").id)
    url = f"/releases/{req}/files/small.csv/review?lang=en"
    assert olga.get(url).status_code == 409  # a draft is not under review: nothing to read yet
    _do(platform, airlock.submit, req, platform=platform, actor=p["alice"])
    page = olga.get(url)
    assert page.status_code == 200 and page.headers["x-egress-rule"] == "checker-review"
    row = re.search(r"<tr><td class=\"num\">2</td>(.*?)</tr>", page.text, re.DOTALL).group(1)
    assert row == '<td>1</td><td>65+</td><td class="finding-cell blocked">7</td>'  # the 7 persons, marked
    assert 'data-rule="min_count"' in page.text and "national statistics office" in page.text
    assert re.search(r"<th>extract version</th><td><code>1</code>", page.text)
    assert alice.get(url).status_code == 403 and client_for(app).get(url).status_code in (303, 401)
    assert olga.get(f"/releases/{req}/files/nope.csv/review").status_code == 404
    with platform.db.unit_of_work() as s:
        reads = [e for e in audit.list_events(s, action="release:file-read", limit=10)]
        assert reads and reads[0].actor == p["olga"].id and reads[0].details["file"] == "small.csv"
    # a finding on a whole row or a whole column marks the row or the column
    assert _marked({"findings": [{"row": 3, "outcome": "review"}, {"column": "n", "outcome": "info"}]},
                   ["sex", "age", "n"]) == {"cells": {}, "rows": {3: "review"}, "columns": {2: "info"}}

"""Only released files leave (issue 13 "Why" 2 and 6; EHDS Art. 73(1)(e)): every route states
the rule under which its answer's bytes leave, deny by default, and only the routes listed
here may carry record-level data — each under its own rule, each read audited."""

from __future__ import annotations

import hashlib

import pytest
from fastapi.responses import StreamingResponse
from fastapi.routing import APIRoute

from bastide.airlock import service as airlock
from bastide.gate import egress
from bastide.server import create_app
from bastide.gate.egress import Egress
from bastide.audit import service as audit
from bastide.errors import Conflict
from bastide.identity import service as identity
from bastide.identity.policy import Forbidden
from bastide.workspaces import screen
from tests.integration.test_airlock import _do, _drafted, _output, airlock_world  # noqa: F401 - a fixture
from tests.integration.test_route_matrix import _walk
from tests.portal import session_client

SQLITE_ONLY = pytest.mark.parametrize("deployment_kind", ["sqlite+local"], indirect=True)  # the deployment is irrelevant

# every route whose answer may carry microdata, and why it may
MICRODATA = {
    ("POST", "/api/workspaces/{ws_id}/queries"): Egress.SCREEN_VIEW,
    ("POST", "/api/workspaces/{ws_id}/jobs"): Egress.SCREEN_VIEW,  # the job's (capped) log
    ("GET", "/api/workspaces/{ws_id}/jobs"): Egress.SCREEN_VIEW,
    ("GET", "/api/workspaces/{ws_id}/jobs/{job_id}"): Egress.SCREEN_VIEW,
    ("GET", "/api/workspaces/{ws_id}/outputs/{output_id}/view"): Egress.SCREEN_VIEW,
    ("POST", "/workspaces/{ws_id}/query"): Egress.SCREEN_VIEW,
    ("GET", "/workspaces/{ws_id}/jobs/{job_id}"): Egress.SCREEN_VIEW,
    ("GET", "/workspaces/{ws_id}/outputs/{output_id}"): Egress.SCREEN_VIEW,
    ("GET", "/api/releases/{request_id}/files/{name}"): Egress.REVIEW,
    ("GET", "/releases/{request_id}/files/{name}/review"): Egress.REVIEW,  # the same, shown in place (issue 18)
    ("GET", "/api/releases/{request_id}/released/{name}"): Egress.RELEASED,
    ("GET", "/api/imports/{import_id}/content"): Egress.IMPORT_REVIEW,
}


def _rules(route: APIRoute) -> list[Egress]:
    return [d.call.egress_rule for d in route.dependant.dependencies if hasattr(d.call, "egress_rule")]


def _routes(platform) -> dict[tuple[str, str], Egress]:
    stated = {}
    for route in _walk(create_app(platform).routes):
        if isinstance(route, APIRoute):
            rules = _rules(route)
            for method in route.methods - {"HEAD"}:
                stated[(method, route.path)] = rules[-1] if rules else None  # the route's own rule comes last
        else:  # FastAPI's own: the OpenAPI document and the docs
            stated[("GET", route.path)] = egress.FRAMEWORK.get(route.path)
    return stated


@pytest.mark.parametrize("deployment_kind", ["sqlite+local"], indirect=True)
def test_every_route_states_its_egress_rule_and_only_listed_ones_carry_microdata(platform):
    stated = _routes(platform)
    assert [route for route, rule in stated.items() if rule is None] == []
    carrying = {route: rule for route, rule in stated.items() if rule.microdata}
    assert carrying == MICRODATA


@pytest.mark.parametrize("deployment_kind", ["sqlite+local"], indirect=True)
def test_an_answer_without_an_egress_rule_is_refused(platform):
    """Deny by default: a route added without `allows(...)` answers 500, not its content."""
    from tests.portal import client_for

    app = create_app(platform)

    @app.get("/api/forgotten")
    def forgotten() -> dict:
        return {"secret": "microdata"}

    @app.get("/api/forgotten/stream")
    def streamed() -> StreamingResponse:  # the body comes after the refused start: none of it leaves
        return StreamingResponse(iter([b"BEN_NIR_PSA\n", b"microdata\n"]), media_type="text/csv")

    for path in ("/api/forgotten", "/api/forgotten/stream"):
        answer = client_for(app).get(path)
        assert answer.status_code == 500 and "microdata" not in answer.text and "BEN_NIR" not in answer.text
        assert answer.json()["error"]["code"] == "internal_error"
        assert answer.json()["request_id"] == answer.headers["X-Request-ID"]
    health = client_for(app).get("/health")
    assert health.status_code == 200 and health.headers[egress.HEADER] == "public"


PERSON_LEVEL = "BEN_NIR_PSA,BEN_SEX_COD,paid\n" + "".join(f"{i:017d},{1 + i % 2},{i * 3.5}\n" for i in range(2000))


def test_an_unreleased_output_never_downloads_and_each_read_is_a_counted_audited_screen_view(airlock_world):
    """"Why" 2: a blocked person-level CSV put in a draft request was downloaded whole by its
    researcher, unseen by any checker, unaudited."""
    platform, p, ws_id = airlock_world
    app = create_app(platform)
    with platform.db.unit_of_work() as s:
        ids = {n: identity.get_user(s, f"{n}@{'labo' if n == 'alice' else 'hdh'}.example").id for n in ("alice", "olga")}
    alice, olga = (session_client(app, platform, ids[n]) for n in ("alice", "olga"))
    leak = _output(platform, ws_id, "everyone.csv", PERSON_LEVEL)
    req = alice.post(f"/api/workspaces/{ws_id}/releases", json={"title": "all"}).json()
    alice.put(f"/api/releases/{req['id']}/files", json={"output_id": leak, "description": "x"})
    for who, expected in ((alice, 403), (olga, 409)):  # the researcher never; a checker not on a draft
        answer = who.get(f"/api/releases/{req['id']}/files/everyone.csv")
        assert answer.status_code == expected and "BEN_NIR_PSA" not in answer.text

    platform.settings.workspace_query_rows = 100
    seen = alice.get(f"/api/workspaces/{ws_id}/outputs/{leak}/view")
    assert seen.status_code == 200 and seen.headers[egress.HEADER] == "screen-view"
    assert seen.json()["lines"] == 100 and seen.json()["truncated_by"] == "rows"
    page = alice.get(f"/workspaces/{ws_id}/outputs/{leak}")
    assert page.text.count("\n000000000000000") <= 100  # the page is the same capped view
    with platform.db.unit_of_work() as s:
        views = [e for e in audit.list_events(s, target=f"workspace:WS-{ws_id:06d}", limit=5) if e.action == "output:view"]
        assert len(views) == 2 and views[0].details["lines"] == 100 and views[0].details["sha256"]
        assert screen.shown(s, ws_id=ws_id, person=p["alice"].id) == 200
    platform.settings.workspace_daily_rows = 200  # the quota is spent: nothing more is shown
    refused = alice.get(f"/api/workspaces/{ws_id}/outputs/{leak}/view")
    assert refused.status_code == 429 and "airlock" in refused.json()["error"]["message"]


@SQLITE_ONLY
def test_a_checker_reads_an_output_only_while_it_is_under_review_and_the_read_is_audited(airlock_world):
    platform, p, ws_id = airlock_world
    req = _drafted(platform, p, ws_id)
    with platform.db.unit_of_work() as s, pytest.raises(Conflict, match="under review"):
        airlock.file_content(s, platform=platform, actor=p["olga"], request=airlock.get_request(s, req), name="t.csv")
    _do(platform, airlock.submit, req, platform=platform, actor=p["alice"])
    with platform.db.unit_of_work() as s:
        with pytest.raises(Forbidden):  # the project's own persons are no checkers
            airlock.file_content(s, platform=platform, actor=p["alice"], request=airlock.get_request(s, req),
                                 name="t.csv")
    with platform.db.unit_of_work() as s:
        content = airlock.file_content(s, platform=platform, actor=p["olga"], request=airlock.get_request(s, req),
                                       name="t.csv")
    with platform.db.unit_of_work() as s:
        read = audit.list_events(s, target=f"release:{airlock.get_request(s, req).reference}", limit=1)[0]
    assert content and read.action == "release:file-read" and read.actor == p["olga"].id
    assert read.details["sha256"] == hashlib.sha256(content).hexdigest()

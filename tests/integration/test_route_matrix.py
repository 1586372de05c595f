"""Every route × every role: who gets past the guard and who does not (IAM-07, deny by default).

The test enumerates the application's routes: a new route without a line in EXPECTED fails
it, so none can be added without saying who may call it. Run on SQLite and on PostgreSQL."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from fastapi.routing import APIRoute
from starlette.routing import Route

from bastide.server import create_app
from bastide.governance import service as gov
from bastide.identity import service as identity
from bastide.identity.roles import Role
from tests.portal import client_for, one_account_per_role, session_client
from tests.unit.test_application_form import FULL

ROLES = [r.value for r in Role]
PUBLIC = {"anonymous", *ROLES}
SIGNED = set(ROLES)
R, I, L, A, AU, O = "researcher", "instructor", "legal_recorder", "administrator", "auditor", "output_checker"
READERS = {R, I, L}

EXPECTED: dict[tuple[str, str], set[str]] = {
    ("GET", "/health"): PUBLIC, ("GET", "/openapi.json"): PUBLIC, ("GET", "/docs"): PUBLIC,
    ("GET", "/docs/oauth2-redirect"): PUBLIC, ("GET", "/redoc"): PUBLIC,
    ("GET", "/api/catalogue/datasets"): PUBLIC, ("GET", "/api/catalogue/datasets/{name}"): PUBLIC,
    ("GET", "/api/catalogue/datasets/{name}/snapshots"): PUBLIC,
    ("GET", "/api/catalogue/datasets/{name}/snapshots/{release}"): PUBLIC,
    ("GET", "/api/catalogue/datasets/{name}/snapshots/{release}/tables/{table}"): PUBLIC,
    ("GET", "/api/catalogue/datasets/{name}/dcat"): PUBLIC,
    ("POST", "/api/auth/login"): PUBLIC, ("POST", "/api/auth/activate"): PUBLIC,
    ("POST", "/api/auth/activate/confirm"): PUBLIC,
    ("POST", "/api/auth/logout"): SIGNED, ("GET", "/api/auth/me"): SIGNED, ("POST", "/api/auth/terms"): SIGNED,
    ("GET", "/api/tokens"): SIGNED, ("POST", "/api/tokens"): SIGNED, ("DELETE", "/api/tokens/{token_id}"): SIGNED,
    ("GET", "/api/organisations"): {A}, ("POST", "/api/organisations"): {A},
    ("GET", "/api/users"): {A}, ("POST", "/api/users"): {A}, ("POST", "/api/users/{email}/disable"): {A},
    ("POST", "/api/users/{email}/unlock"): {A}, ("POST", "/api/users/{email}/reset"): {A},
    ("POST", "/api/users/{email}/enable"): {A},
    ("POST", "/api/users/{email}/reset/approve"): {A}, ("POST", "/api/auth/reset-password"): PUBLIC,
    ("GET", "/api/applications"): READERS, ("POST", "/api/applications"): {R},
    ("GET", "/api/applications/{app_id}"): READERS, ("PATCH", "/api/applications/{app_id}"): {R},
    ("POST", "/api/applications/{app_id}/actions/{action}"): {R, I},
    ("POST", "/api/applications/{app_id}/opinions"): {L},
    ("POST", "/api/applications/{app_id}/assessment"): {I},
    ("POST", "/api/applications/{app_id}/extension"): {I},
    ("GET", "/api/applications/{app_id}/history"): {R, I, L, AU},
    ("GET", "/api/queue"): {I},
    ("GET", "/api/permits"): {R, I}, ("GET", "/api/permits/{permit_id}"): {R, I},
    ("GET", "/api/permits/{permit_id}/file"): {R, I},
    ("POST", "/api/permits/{permit_id}/amend"): {I}, ("POST", "/api/permits/{permit_id}/extend"): {I},
    ("POST", "/api/permits/{permit_id}/revoke"): {I},
    ("POST", "/api/optouts"): {L, "data_operator"},
    ("GET", "/api/calls"): PUBLIC, ("POST", "/api/calls"): {I}, ("POST", "/api/calls/{call_id}/scores"): {I},
    ("GET", "/api/calls/{call_id}/ranking"): {I}, ("POST", "/api/calls/{call_id}/selection"): {I},
    ("GET", "/api/register"): PUBLIC, ("GET", "/api/register.csv"): PUBLIC,
    ("GET", "/api/audit/events"): {AU}, ("GET", "/api/audit/checkpoints"): PUBLIC,
    ("GET", "/api/workspaces"): {R, "data_operator"}, ("GET", "/api/workspaces/{ws_id}"): {R},
    ("POST", "/api/workspaces/{ws_id}/queries"): {R}, ("POST", "/api/workspaces/{ws_id}/jobs"): {R},
    ("POST", "/api/workspaces/{ws_id}/queries/save"): {R},
    ("GET", "/api/workspaces/{ws_id}/jobs"): {R}, ("GET", "/api/workspaces/{ws_id}/jobs/{job_id}"): {R},
    ("GET", "/api/workspaces/{ws_id}/outputs"): {R},
    ("POST", "/api/workspaces/{ws_id}/outputs/{output_id}/check"): {R},
    ("POST", "/api/workspaces/{ws_id}/releases"): {R}, ("GET", "/api/workspaces/{ws_id}/releases"): {R},
    ("GET", "/api/airlock/queue"): {O}, ("GET", "/api/releases/{request_id}"): {R, O},
    ("PUT", "/api/releases/{request_id}/files"): {R}, ("DELETE", "/api/releases/{request_id}/files/{name}"): {R},
    ("GET", "/api/releases/{request_id}/files/{name}"): {O}, ("POST", "/api/releases/{request_id}/actions"): {R, O},
    ("POST", "/api/releases/{request_id}/votes"): {O}, ("POST", "/api/releases/{request_id}/revoke"): {O},
    ("POST", "/api/releases/{request_id}/comments"): {R, O},
    ("GET", "/api/releases/{request_id}/released/{name}"): {R},
    ("PUT", "/api/workspaces/{ws_id}/imports/{name}"): {R}, ("GET", "/api/workspaces/{ws_id}/imports"): {R},
    ("GET", "/api/airlock/imports"): {O}, ("GET", "/api/imports/{import_id}/content"): {O},
    ("POST", "/api/imports/{import_id}/decision"): {R, O},
    ("GET", "/workspaces"): {R, "data_operator"}, ("GET", "/workspaces/{ws_id}"): {R},
    ("POST", "/workspaces/{ws_id}/query"): {R}, ("POST", "/workspaces/{ws_id}/jobs"): {R},
    ("GET", "/api/workspaces/{ws_id}/schema"): {R}, ("GET", "/api/workspaces/{ws_id}/kept-queries"): {R},
    ("POST", "/api/workspaces/{ws_id}/kept-queries"): {R}, ("DELETE", "/api/workspaces/{ws_id}/kept-queries/{query_id}"): {R},
    ("POST", "/workspaces/{ws_id}/queries/keep"): {R}, ("POST", "/workspaces/{ws_id}/queries/{query_id}/forget"): {R},
    ("GET", "/workspaces/{ws_id}/jobs/{job_id}"): {R},
    ("GET", "/workspaces/{ws_id}/outputs/{output_id}/check"): {R}, ("GET", "/workspaces/{ws_id}/outputs/{output_id}"): {R},
    ("GET", "/api/workspaces/{ws_id}/outputs/{output_id}/view"): {R}, ("POST", "/workspaces/{ws_id}/releases"): {R},
    ("GET", "/releases/{request_id}"): {R, O}, ("POST", "/releases/{request_id}/files"): {R},
    ("GET", "/releases/{request_id}/files/{name}/review"): {O},
    ("POST", "/releases/{request_id}/files/{name}/remove"): {R}, ("POST", "/releases/{request_id}/act"): {R, O},
    ("POST", "/releases/{request_id}/vote"): {O}, ("POST", "/releases/{request_id}/revoke"): {O},
    ("POST", "/releases/{request_id}/comment"): {R, O},
    ("GET", "/airlock"): {O}, ("POST", "/workspaces/{ws_id}/imports"): {R},
    ("POST", "/imports/{import_id}/decide"): {R, O},
    # pages
    ("GET", "/"): PUBLIC, ("GET", "/static/{name}"): PUBLIC, ("GET", "/dictionary"): PUBLIC,
    ("GET", "/dictionary/nomenclatures/{name}"): PUBLIC, ("GET", "/dictionary/{ref}"): PUBLIC,
    ("GET", "/dictionary/{ref}/{table}"): PUBLIC, ("GET", "/lang/{code}"): PUBLIC, ("GET", "/login"): PUBLIC, ("POST", "/login"): PUBLIC, ("POST", "/logout"): SIGNED,
    ("GET", "/activate/{secret}"): PUBLIC, ("POST", "/activate/{secret}"): PUBLIC,
    ("POST", "/activate/{secret}/confirm"): PUBLIC,
    ("GET", "/terms"): SIGNED, ("POST", "/terms"): SIGNED, ("GET", "/home"): SIGNED,
    ("GET", "/applications"): READERS, ("POST", "/applications"): {R},
    ("GET", "/applications/{app_id}"): READERS, ("POST", "/applications/{app_id}/form"): {R},
    ("POST", "/applications/scope"): {R}, ("POST", "/applications/codes"): {R},
    ("POST", "/applications/{app_id}/act"): {R, I}, ("GET", "/queue"): {I},
    ("GET", "/applications/{app_id}/decision"): {I, L}, ("POST", "/applications/{app_id}/assess"): {I},
    ("POST", "/applications/{app_id}/opinion"): {L},
    ("GET", "/permits/{permit_id}"): {R, I}, ("GET", "/calls"): PUBLIC, ("GET", "/register"): PUBLIC,
    ("GET", "/admin/users"): {A}, ("POST", "/admin/users"): {A}, ("POST", "/admin/users/{email}/act"): {A},
    ("POST", "/calls"): {I}, ("GET", "/calls/{call_id}"): PUBLIC, ("POST", "/calls/{call_id}/scores"): {I},
    ("POST", "/calls/{call_id}/selection"): {I}, ("POST", "/permits/{permit_id}/extend"): {I},
    ("POST", "/permits/{permit_id}/revoke"): {I}, ("POST", "/applications/{app_id}/extension"): {I},
}
DENIED_CODES = {"not_authenticated", "forbidden"}


def _walk(routes):
    """The app's routes, through included routers (FastAPI ≥ 0.16x keeps them as one entry per
    router; we include ours without an extra prefix, so their paths are the routes' own)."""
    for route in routes:
        if hasattr(route, "original_router"):
            yield from _walk(route.original_router.routes)
        else:
            yield route


def routes(app) -> list[tuple[str, str]]:
    found = []
    for route in _walk(app.routes):
        if isinstance(route, APIRoute | Route):
            found += [(m, route.path) for m in sorted(route.methods - {"HEAD"})]
    return found


@pytest.fixture
def world(platform):
    """One account per role (MFA enrolled, terms accepted) and an application of the researcher's."""
    until = date.today() + timedelta(days=30)
    with platform.db.unit_of_work() as s:
        accounts = one_account_per_role(s, platform, until=until)
        users = {role: user.id for role, user in accounts.items()}
        researcher = accounts[R]
        application = gov.create_application(s, actor=identity.actor_of(researcher), user=researcher, title="T",
                                             procedure="standard", form=FULL)
        application.status = "submitted"  # readable by the access body without a snapshot to check
    return create_app(platform), users, application.id


def _path(template: str, app_id: int) -> str:
    values = {"app_id": str(app_id), "name": "snds", "release": "2024-12", "ref": "snds@2024-12", "table": "IR_BEN_R", "action": "nope",
              "permit_id": "999999", "token_id": "999999", "call_id": "999999", "email": "nobody@example.org", "ws_id": "999999", "job_id": "999999", "code": "en",
              "secret": "nope", "output_id": "999999", "request_id": "999999",
              "import_id": "999999", "query_id": "999999"}
    return re.sub(r"\{(\w+)\}", lambda m: values[m.group(1)], template)


def _call(app, platform, users, role, method, path):
    client = client_for(app) if role == "anonymous" else session_client(app, platform, users[role])
    if method in ("GET", "DELETE"):
        return client.request(method, path)
    return client.request(method, path, json={})


def test_every_route_is_in_the_matrix(world):
    app, _, _ = world
    assert set(routes(app)) == set(EXPECTED), "a route was added or removed: say who may call it in EXPECTED"


def test_role_route_matrix(world, platform):
    app, users, app_id = world
    wrong = []
    for method, template in routes(app):
        for role in ["anonymous", *ROLES]:
            response = _call(app, platform, users, role, method, _path(template, app_id))
            denied = response.headers.get("x-error-code") in DENIED_CODES or \
                response.headers.get("location", "").startswith("/login")
            if denied == (role in EXPECTED[(method, template)]):
                wrong.append(f"{method} {template} as {role}: {response.status_code} "
                             f"{response.headers.get('x-error-code')}")
    assert not wrong, "\n".join(wrong)

"""The HTTP API: health, the public catalogue, and the one JSON error envelope."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from bastide.server import create_app
from bastide.base.ingest import IngestRequest, ingest


@pytest.fixture
def client(platform, tiny_delivery, actor):
    ingest(platform, actor=actor, request=IngestRequest(str(tiny_delivery), "snds", "2024-12"))
    with TestClient(create_app(platform)) as c:
        yield c


@pytest.fixture
def bare(platform):
    """The API over an empty platform: for what needs no snapshot (an ingest per test costs seconds)."""
    with TestClient(create_app(platform)) as c:
        yield c


def test_health_and_openapi(client):
    assert client.get("/health").json()["status"] == "ok"
    paths = client.get("/openapi.json").json()["paths"]
    assert "/api/catalogue/datasets/{name}/snapshots/{release}/tables/{table}" in paths


def test_catalogue_endpoints(client):
    datasets = client.get("/api/catalogue/datasets").json()
    assert [d["name"] for d in datasets] == ["snds"]
    snap = client.get("/api/catalogue/datasets/snds/snapshots/2024-12").json()
    assert {t["name"] for t in snap["table_list"]} >= {"ER_PRS_F", "ER_PHA_F", "IR_BEN_R", "T_MCOaaB"}
    table = client.get("/api/catalogue/datasets/snds/snapshots/2024-12/tables/ER_PHA_F").json()
    assert table["variables"][0]["name"] == "ORG_CLE_NEW" and table["partitioning"] == "flx_month"
    assert "dcat:Dataset" in client.get("/api/catalogue/datasets/snds/dcat?format=turtle").text
    assert "Catalogue des données" in client.get("/").text


ERRORS = [
    ("/api/catalogue/datasets/nope", 404, "not_found"),
    ("/api/catalogue/datasets/snds/snapshots/1999-01", 404, "not_found"),
    ("/api/catalogue/datasets/snds/snapshots/2024-12/tables/NOPE", 404, "not_found"),
    ("/api/catalogue/datasets/snds/dcat?format=xml", 422, "invalid_input"),
    ("/no/such/route", 404, "not_found"),
]


def test_every_error_uses_the_envelope(client):
    for path, status, code in ERRORS:  # one published snapshot for all (each case used to ingest its own)
        response = client.get(path)
        body = response.json()
        assert response.status_code == status, path
        assert set(body) == {"error", "request_id"} and body["error"]["code"] == code and body["error"]["message"]


def test_a_body_that_is_not_json_is_415_and_an_error_never_echoes_the_value_sent(bare):
    """Issue 16, 1: a body sent as text/plain made the validation error carry bytes, which the
    envelope could not encode (500, anonymously); a wrong field echoed the value sent (here a
    password) in the answer."""
    plain = bare.post("/api/auth/login", content=b'{"email":"a@b.c","password":"x"}',
                        headers={"Content-Type": "text/plain"})
    assert plain.status_code == 415 and plain.json()["error"]["code"] == "unsupported_media_type"
    broken = bare.post("/api/auth/login", content=b'{"email":', headers={"Content-Type": "application/json"})
    assert broken.status_code == 422 and broken.json()["error"]["code"] == "invalid_input"
    wrong = bare.post("/api/auth/login", json={"email": "a@b.c", "password": ["hunter2-secret"]})
    assert wrong.status_code == 422 and "hunter2-secret" not in wrong.text
    assert wrong.json()["error"]["details"]["errors"][0]["loc"] == ["body", "password"]


@pytest.mark.parametrize("path", ["/api/applications/2147483648", "/api/applications/9223372036854775808", "/api/calls/99999999999999999999/ranking",
                                  "/api/imports/9223372036854775808/content", "/api/releases/18446744073709551616",
                                  "/api/workspaces/9223372036854775808/releases"])
def test_an_id_past_any_key_is_404_not_a_server_error(bare, path):
    """Issue 16, 2: SQLite raised OverflowError (500) for ids of 2^63 or more, in some routes
    before their permission check; PostgreSQL's INTEGER ids end at 2^31 - 1 (found by the fuzzing)."""
    answer = bare.get(path)
    assert answer.status_code == 404 and answer.json()["error"]["code"] == "not_found"


def test_every_api_route_declares_the_error_envelope_and_its_content_types(bare):
    """Issue 16, item 7: the OpenAPI document did not declare the 4xx answers every route gives,
    nor /api/register.csv's text/csv."""
    document = bare.get("/openapi.json").json()
    operations = [(path, method, op) for path, methods in document["paths"].items() for method, op in methods.items()]
    assert len(operations) > 50
    for path, method, op in operations:
        if path == "/health":
            continue
        for status in ("401", "403", "404", "422"):
            answer = op["responses"].get(status, {})
            schema = answer.get("content", {}).get("application/json", {}).get("schema", {})
            assert schema.get("$ref", "").endswith("/ErrorOut"), (method, path, status)
    assert "text/csv" in document["paths"]["/api/register.csv"]["get"]["responses"]["200"]["content"]

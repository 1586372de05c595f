"""The catalogue page in a real browser (Debian's chromium driven by Playwright)."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
import uvicorn

from bastide.api.app import create_app
from bastide.base.ingest import IngestRequest, ingest
from tests.conftest import make_platform
from tests.services import free_port, wait_port

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"]


@pytest.fixture
def served(tmp_path, small_delivery, actor):
    platform = make_platform(tmp_path)
    ingest(platform, actor=actor, request=IngestRequest(str(small_delivery), "snds", "2024-12"))
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(platform), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_port(port)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)
    platform.close()


@pytest.mark.slow
def test_catalogue_page_in_chromium(served, tmp_path):
    if not CHROMIUM.exists():
        pytest.fail("chromium is missing: `./dev test` installs it (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
        page = browser.new_page(java_script_enabled=False)  # the catalogue works without JavaScript
        response = page.goto(served + "/")
        assert response.status == 200
        assert page.locator("h1").inner_text() == "Catalogue des données"
        row = page.locator("tr", has_text="snds@2024-12")
        assert row.count() == 1 and "Système national des données de santé" in page.locator("h2").inner_text()
        page.screenshot(path=str(tmp_path / "catalogue.png"), full_page=True)
        api = page.goto(served + "/api/catalogue/datasets/nope")
        assert api.status == 404 and '"code":"not_found"' in page.content().replace(" ", "")
        browser.close()

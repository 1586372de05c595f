"""The pages in a real browser (Debian's chromium driven by Playwright), JavaScript off: they
must work without it. The session cookie is Secure over HTTPS only."""

from __future__ import annotations

import time
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import parse_qs, urlparse

import pyotp
import pytest

from bastide.server import create_app
from bastide.base.ingest import IngestRequest, ingest
from bastide.governance.permits import verify_file
from bastide.identity import credentials
from bastide.identity import service as identity
from bastide.platform import operator_actor
from tests.conftest import make_platform
from tests.portal import PASSWORD, operator_creates, previous_step_code
from tests.services import free_port, serving, working

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"]


@pytest.fixture
def served(tmp_path, small_delivery, actor):
    port = free_port()
    platform = make_platform(tmp_path, public_url=f"http://localhost:{port}")
    ingest(platform, actor=actor, request=IngestRequest(str(small_delivery), "snds", "2024-12"))
    with serving(create_app(platform), port) as url:
        yield SimpleNamespace(url=url, platform=platform)
    platform.close()


@pytest.fixture
def chromium():
    if not CHROMIUM.exists():
        pytest.fail("chromium is missing: `./dev test` installs it (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
        yield browser
        browser.close()


@pytest.mark.slow
def test_catalogue_page_in_chromium(served, tmp_path, chromium):
    page = chromium.new_page(java_script_enabled=False, locale="fr-FR")  # a French browser gets French
    response = page.goto(served.url + "/")
    assert response.status == 200
    assert page.locator("h1").inner_text() == "Catalogue des données"
    row = page.locator("tr", has_text="snds@2024-12")
    assert row.count() == 1 and "Système national des données de santé" in page.locator("h2").inner_text()
    page.goto(served.url + "/?lang=en")
    assert page.locator("h1").inner_text() == "Data catalogue"
    page.screenshot(path=str(tmp_path / "catalogue.png"), full_page=True)
    _fits(page)
    for path in ("/dictionary?q=BEN_NAI", "/dictionary/snds@2024-12/ER_PRS_F", "/dictionary/nomenclatures/IR_CCAM_V63"):
        assert page.goto(served.url + path).status == 200, path  # the data dictionary, issue 18 item 1
        _fits(page)
    api = page.goto(served.url + "/api/catalogue/datasets/nope")
    assert api.status == 404 and '"code":"not_found"' in page.content().replace(" ", "")


def _activate(browser, url: str, link: str) -> str:
    """A person opens the activation link, chooses a password, reads the QR code's secret (as an
    authenticator app does) and confirms with a code; returns the TOTP secret."""
    page = browser.new_page(java_script_enabled=False)
    page.goto(link)
    page.fill("#password", PASSWORD)
    _go(page, "main button[type=submit]")
    assert page.locator("#qr svg").count() == 1 and page.locator("#recovery li").count() == 10
    secret = parse_qs(urlparse(page.locator("#otpauth").inner_text()).query)["secret"][0]
    page.fill("#code", previous_step_code(secret))
    _go(page, "main button[type=submit]")
    assert "/login" in page.url and page.locator(".ok").count() == 1
    page.close()
    return secret


def _sign_in(browser, url: str, email: str, secret: str, locale: str = "fr-FR"):
    context = browser.new_context(java_script_enabled=False, locale=locale)
    page = context.new_page()
    page.goto(url + "/applications")  # not signed in: sent to the sign-in page, then back
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.fill("#code", pyotp.TOTP(secret).now())
    _go(page, "main button[type=submit]")
    if "/terms" in page.url:  # GOV-25: first sign-in
        _go(page, "main button[type=submit]")
    return page


def _go(page, selector: str):
    """Every click here submits a form or follows a link: wait for the next page to load, or a
    read such as `page.content()` may see the blank document between the two (a flaky CI run)."""
    page.click(selector)
    page.wait_for_load_state("load")


def _act(page, action: str):
    _go(page, f"button[name=action][value={action}]")


PHONE, DESKTOP = {"width": 390, "height": 844}, {"width": 1280, "height": 800}


def _fits(page) -> None:
    """Issue 18, item 11: at 390 px nothing makes the page scroll sideways (a wide table scrolls in
    its own box), and at 1280 px the header holds on one line."""
    try:
        page.set_viewport_size(PHONE)
        wide = page.evaluate("document.documentElement.scrollWidth")
        assert wide <= PHONE["width"], f"{page.url} is {wide} px wide at {PHONE['width']} px"
        page.set_viewport_size(DESKTOP)
        header = page.locator("header").bounding_box()
        assert header["height"] < 60, f"the header of {page.url} wraps at 1280 px ({header['height']} px high)"
    finally:
        page.set_viewport_size(DESKTOP)


# What the journey reads on its pages, in each language (issue 18: the whole journey in both)
WORDS = {"fr-FR": {"submitted": "soumise", "register": "registre public", "revoked": "révoquée",
                   "permit": "Permis d'accès", "check": "Contrôler"},
         "en-GB": {"submitted": "submitted", "register": "public register", "revoked": "revoked",
                   "permit": "Data permit", "check": "Check"}}


@pytest.mark.slow
@pytest.mark.parametrize("locale", list(WORDS))
def test_done_when_in_chromium(served, chromium, tmp_path, locale):
    """Issue 3's done-when, in the browser, JavaScript off, in French and in English (the browser's
    language): register a member, enrol MFA, apply with the scope ticked from the release, see the
    register, instruct to a granted permit, download it and verify it offline; every page checked
    at 390 and 1280 px (issue 18)."""
    url, platform, words = served.url, served.platform, WORDS[locale]
    admin = _sign_in(chromium, url, "ada@hdh.example", _activate(chromium, url, url + "/activate/" + operator_creates(
        platform, email="ada@hdh.example", org="HDH", sector="public", roles={"administrator"})), locale)
    admin.goto(url + "/admin/users")
    admin.fill("#email", "alice@labo.example")
    admin.fill("#name", "Alice Martin")
    admin.fill("#organisation", "Labo privé")
    admin.check("input[name=roles][value=researcher]")
    _go(admin, "form[action='/admin/users'] button[type=submit]")
    link = admin.locator("#activation-link").inner_text()
    assert admin.locator("td", has_text="alice@labo.example").count() == 1

    alice = _sign_in(chromium, url, "alice@labo.example", _activate(chromium, url, link), locale)
    assert alice.url.endswith("/applications")
    alice.fill("#title", "Statines et diabète de type 2")
    alice.select_option("#procedure", "standard")
    _go(alice, "form[action='/applications'] button[type=submit]")
    # the release first: its tables and variables are then offered to tick (issue 18, item 2)
    alice.select_option("#f_snapshot", "snds@2024-12")
    _go(alice, "form[action$='/form'] button[type=submit]:not([name])")
    for table in ("ER_PRS_F", "IR_BEN_R"):
        alice.check(f"#t_{table}")
    alice.click("#t_ER_PRS_F ~ details summary")  # a table's variables unfold without a script
    for variable in ("PRS_NAT_REF", "EXE_SOI_DTD", "PRS_ACT_QTE"):
        alice.check(f"#v_ER_PRS_F_{variable}")
    _fits(alice)
    values = {"persons": "alice@labo.example", "functions": "épidémiologiste", "use": "étude de cohorte",
              "years": "2023 2024", "icd10": "E11",
              "pseudonymisation_justification": "suivi longitudinal",
              "gdpr_compliance": "art. 6(1)(e)", "safeguards": "espace projet", "tools": "Python",
              "ethics": "CESREES", "optout_exception": "none", "duration_months": "24"}
    for name, value in values.items():
        alice.fill(f"#f_{name}", value)
    alice.select_option("#f_purpose", "e")
    alice.select_option("#f_pseudonymised", "yes")
    _go(alice, "button[name=then][value=submit]")  # saved, then submitted: at the form's end (issue 18, item 3)
    assert alice.locator("#status").get_attribute("data-state") == "submitted", alice.locator(".error").all_inner_texts()
    assert alice.locator("#status").inner_text() == words["submitted"]  # in words, in the person's language
    _fits(alice)
    reference = alice.locator("h1").inner_text().split(" ")[0]

    public = chromium.new_page(java_script_enabled=False)
    public.goto(url + "/register?lang=en")
    assert public.locator("h1").inner_text() == "Public register"
    assert public.locator("#register tr", has_text=reference).count() == 1 and "alice@" not in public.content()
    _fits(public)

    link = url + "/activate/" + operator_creates(platform, email="ines@hdh.example", org="HDH", sector="public",
                                                 roles={"instructor"})
    ines = _sign_in(chromium, url, "ines@hdh.example", _activate(chromium, url, link), locale)
    ines.goto(url + "/queue")
    _fits(ines)
    _go(ines, f"a:has-text('{reference}')")
    _act(ines, "screen")
    _act(ines, "accept")
    _act(ines, "refuse")  # asked once more, saying what follows (issue 18, item 3)
    assert words["register"] in ines.locator("#consequence").inner_text()
    _fits(ines)
    _go(ines, "#confirm button[type=submit]")  # a refusal without its justification is refused, and says so (GOV-12)
    assert ines.locator(".error").count() == 1 and ines.locator("#status").get_attribute("data-state") == "processing"
    _go(ines, "a[href$='/decision']")
    _fits(ines)
    for criterion in (*"abcdefgh", "risk_a", "risk_b"):  # Art. 68(1) criteria, Art. 68(2) risks
        ines.check(f"input[name=met_{criterion}][value=yes]")
    _go(ines, "form[action$='/assess'] button[type=submit]")

    link = url + "/activate/" + operator_creates(platform, email="louis@hdh.example", org="HDH", sector="public",
                                                 roles={"legal_recorder"})
    louis = _sign_in(chromium, url, "louis@hdh.example", _activate(chromium, url, link), locale)
    louis.goto(ines.url)
    for kind, reference_no in (("ethics", "CESREES-2026-77"), ("cnil", "DR-2026-310")):
        louis.select_option("#kind", kind)
        louis.fill("#reference", reference_no)
        louis.fill("#date", "2026-11-20")
        louis.fill("#outcome", "favourable")
        _go(louis, "form[action$='/opinion'] button[type=submit]")
    assert "DR-2026-310" in louis.content()
    _fits(louis)

    ines.goto(ines.url.removesuffix("/decision"))
    _act(ines, "grant")
    _go(ines, "#confirm button[type=submit]")
    assert ines.locator("#status").get_attribute("data-state") == "decision_issued"
    alice.reload()
    _go(alice, "a[href^='/permits/']")
    assert alice.locator("h1").inner_text().startswith(words["permit"])
    signed = alice.request.get(url + alice.locator("#download").get_attribute("href"))
    document = verify_file(signed.text(), public_pem=platform.signer.public_pem())
    assert document["application"] == reference and document["data"]["population"] == {"icd10": ["E11"]}
    assert document["data"]["columns"] == {"ER_PRS_F": ["EXE_SOI_DTD", "PRS_ACT_QTE", "PRS_NAT_REF"]}
    alice.screenshot(path=str(tmp_path / "permit.png"), full_page=True)
    _fits(alice)
    admin.goto(url + "/admin/users")
    _fits(admin)

    ines.goto(url + alice.url.removeprefix(url))  # the instructor's view of the same permit
    ines.fill("#months", "6")
    ines.fill("#extend_reason", "suivi prolongé de la cohorte")
    _go(ines, "form[action$='/extend'] button[type=submit]")
    assert "v2" in ines.locator("h1").inner_text() and ines.locator("#months").count() == 0  # extended once only
    ines.fill("#revoke_reason", "manquement aux conditions du permis")
    _go(ines, "form[action$='/revoke'] button[type=submit]")
    assert ines.locator(".state[data-state=revoked]").inner_text() == words["revoked"] and "manquement" in ines.content()


@pytest.mark.slow
@pytest.mark.parametrize("deployment_kind", ["sqlite+local"], indirect=True)
@pytest.mark.parametrize("locale", list(WORDS))
def test_workspace_in_chromium(ready, chromium, locale):
    """Issue 4's pages: the named researcher finds the workspace, its tables, runs SQL and a job,
    in each language (issue 18: the whole journey in both)."""
    platform, _people, _permit_id, ws_id, done = ready
    with platform.db.unit_of_work() as s:
        link = credentials.issue_activation(s, actor=operator_actor(), user=identity.get_user(s, "alice@labo.example"))
    with serving(create_app(platform)) as url, working(platform):  # the API queues the job, a worker runs it
        alice = _sign_in(chromium, url, "alice@labo.example", _activate(chromium, url, f"{url}/activate/{link}"),
                         locale)
        alice.goto(url + "/workspaces")
        _go(alice, f"a:has-text('{done.workspace}')")
        assert alice.locator("#tables tr", has_text="IR_BEN_R").count() == 1
        alice.fill("#sql", "SELECT BEN_SEX_COD, count(*) AS n FROM IR_BEN_R GROUP BY 1 ORDER BY 1")
        _go(alice, "#console button[type=submit]")
        assert alice.locator("#result th").all_inner_texts() == ["BEN_SEX_COD", "n"]
        _fits(alice)
        alice.fill("#sql", "SELECT * FROM read_csv('/etc/passwd')")
        _go(alice, "#console button[type=submit]")
        assert "disabled" in alice.locator(".error").inner_text()
        alice.fill("#script", "from bastide import workspace\n"
                              "workspace.table('IR_BEN_R').to_pandas().describe().to_csv('summary.csv')\n")
        _go(alice, "form[action$='/jobs'] button[type=submit]")
        for _ in range(60):  # a worker runs the job after the answer: the page says so until it ends
            if alice.locator("#job-status").get_attribute("data-state") not in ("queued", "running"):
                break
            time.sleep(0.5)
            alice.reload()
        assert alice.locator("#job-status").get_attribute("data-state") == "succeeded", alice.locator("#log").inner_text()
        assert "summary.csv" in alice.content() and "BEN_NAI_ANN" not in alice.content()  # no output inlined
        _go(alice, "a.view")  # its first lines, a screen view counted in the daily quota
        assert "BEN_NAI_ANN" in alice.locator("#output").inner_text() and alice.locator("#quota-left").inner_text()


@pytest.mark.slow
@pytest.mark.parametrize("deployment_kind", ["sqlite+local"], indirect=True)
@pytest.mark.parametrize("locale", list(WORDS))
def test_airlock_in_chromium(ready, chromium, locale):
    """Issue 5's pages: a small cell is named by the check; the suppressed table is asked for,
    two checkers vote blind and approve, and the researcher downloads the signed record; in each
    language (issue 18: the whole journey in both)."""
    from bastide.airlock.service import FORMAT
    from bastide.keys.signing import verify_document
    from bastide.workspaces import service as workspaces
    from bastide.workspaces.jobs import register_output
    from tests.integration.test_airlock import SMALL, SUPPRESSED

    platform, _people, _permit_id, ws_id, _done = ready
    with platform.db.unit_of_work() as s:
        row = workspaces.current_extract(s, workspaces.get_workspace(s, ws_id))
        for name, text in (("small.csv", SMALL), ("suppressed.csv", SUPPRESSED)):
            register_output(s, platform, row=row, name=name, content=text.encode(), origin={"job": "by hand"})
        links = {"alice": credentials.issue_activation(s, actor=operator_actor(),
                                                       user=identity.get_user(s, "alice@labo.example"))}
    for checker in ("olga", "oscar"):
        links[checker] = operator_creates(platform, email=f"{checker}@hdh.example", org="HDH", sector="public",
                                          roles={"output_checker"})
    with serving(create_app(platform)) as url:
        pages = {who: _sign_in(chromium, url, f"{who}@{'labo' if who == 'alice' else 'hdh'}.example",
                               _activate(chromium, url, f"{url}/activate/{link}"), locale)
                 for who, link in links.items()}
        alice = pages["alice"]
        alice.goto(f"{url}/workspaces/{ws_id}")
        _go(alice, f"#outputs tr:has-text('small.csv') a:has-text('{WORDS[locale]['check']}')")
        assert alice.locator("#check-status").get_attribute("data-state") == "blocked"
        assert "sex=1, age=65+" in alice.locator(".finding.blocked").first.inner_text()
        alice.goto(f"{url}/workspaces/{ws_id}")
        alice.fill("#release_title", "Prevalence by age")
        _go(alice, "form[action$='/releases'] button[type=submit]")
        alice.select_option("#output_id", label=alice.locator("#output_id option", has_text="suppressed.csv")
                            .inner_text())
        alice.fill("#description", "Diabetics by sex and age group, 2023; small cells and complements suppressed")
        _go(alice, "#add-file button[type=submit]")
        assert alice.locator(".release-file .ok").count() == 1  # the checks pass
        _act(alice, "submit")
        assert alice.locator("#release-status").get_attribute("data-state") == "submitted"
        _fits(alice)
        request_url = alice.url

        for checker in ("olga", "oscar"):
            page = pages[checker]
            page.goto(f"{url}/airlock")
            _go(page, "#airlock-queue a")
            assert page.locator(".votes li.empty").count() == 1  # blind: nobody's vote shows before one's own
            if checker == "olga":  # the table read in place, not downloaded (issue 18, item 7)
                back = page.url
                _go(page, "a.review")
                assert page.locator("#review-table tbody tr").count() == 4 and page.locator("#provenance").count() == 1
                page.fill("#comment-body", "Are the 65+ ages grouped with 18-64 anywhere else?")  # issue 18, item 7
                _go(page, "#comment-form button[type=submit]")
                assert "grouped with 18-64" in page.locator("#comments").inner_text()
                _fits(page)
                page.goto(back)
            _go(page, "form.vote button[type=submit]")  # approve is the first choice
        olga = pages["olga"]
        olga.goto(request_url)
        assert olga.locator("#release-status").get_attribute("data-state") == "reviewed"
        _go(olga, "#decide button[value=approve]")
        assert olga.locator("#release-status").get_attribute("data-state") == "released"

        alice.goto(request_url)
        assert alice.locator("#released li").count() == 2
        assert "grouped with 18-64" in alice.locator("#comments").inner_text()  # the checker's word, on the page
        record = alice.request.get(f"{request_url.replace('/releases/', '/api/releases/')}/released/RELEASE.json")
        document = verify_document(record.text(), public_pem=platform.signer.public_pem(), format=FORMAT)
        assert [f["name"] for f in document["files"]] == ["suppressed.csv"]
        assert len(document["files"][0]["votes"]) == 2

        # the import lane: a codelist comes in once a checker approved it
        alice.goto(f"{url}/workspaces/{ws_id}")
        alice.set_input_files("#import_file", files=[{"name": "codelist.csv", "mimeType": "text/csv",
                                                      "buffer": b"code,label\nE11,type 2 diabetes\n"}])
        alice.fill("#import_purpose", "the outcome's ICD-10 codes")
        _go(alice, "#import-form button[type=submit]")
        assert alice.locator("#import-list tr", has_text="codelist.csv").locator(".state").first.get_attribute(
            "data-state") == "submitted"
        olga.goto(f"{url}/airlock")
        _go(olga, "#import-queue button[value=approve]")
        alice.reload()
        assert alice.locator("#import-list tr", has_text="codelist.csv").locator(".state").first.get_attribute(
            "data-state") == "approved"

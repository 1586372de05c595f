"""The pages' catalogues (issue 18, item 4): French and English hold the same codes, each with a
text; every code a template asks for, and every status, action, role, purpose, check result and
history event a page shows by its code, is in both; a code a catalogue lacks is warned about (an error in tests)."""

from __future__ import annotations

import re
import warnings
from functools import cache
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir

from bastide.airlock import rules
from bastide.audit.actions import AuditAction
from bastide.airlock.workflow import IMPORT_WORKFLOW, RELEASE_WORKFLOW
from bastide.catalogue.workflow import SNAPSHOT_WORKFLOW
from bastide.errors import DomainError, not_among
from bastide.airlock import said
from bastide.governance import criteria, scope
from bastide.governance.form import ENGINES, PURPOSES
from bastide.governance.workflow import APPLICATION_WORKFLOW, PERMIT_WORKFLOW
from bastide.identity import admin, resets
from bastide.identity.roles import Role
from bastide.notices import service as notices
from bastide import i18n as i18n_platform
from bastide.web import governance, i18n
from bastide.web.forms import COMBINE, FORM_FIELDS, REFUSED, SEXES
from bastide.workspaces.workflow import JOB_WORKFLOW, WORKSPACE_WORKFLOW

TEMPLATES = Path(i18n.__file__).parent / "templates"
WORKFLOWS = (APPLICATION_WORKFLOW, PERMIT_WORKFLOW, WORKSPACE_WORKFLOW, JOB_WORKFLOW, RELEASE_WORKFLOW,
             IMPORT_WORKFLOW, SNAPSHOT_WORKFLOW)


def codes(lang: str) -> dict[str, str]:
    return {m.id: m.string for m in i18n.catalogue(lang) if m.id}


@cache
def asked_by_templates() -> set[str]:
    """The constant codes templates pass to `_()`, as Babel extracts them for translators."""
    found = extract_from_dir(str(TEMPLATES), method_map=[("**.html", "jinja2.ext:babel_extract")],
                             options_map={"**.html": {"extensions": "jinja2.ext.i18n"}})
    return {message for _file, _line, message, _comments, _context in found if isinstance(message, str)}


@cache
def shown_by_code() -> set[str]:
    """The codes a page builds from a value (`state_` + a status…): every value a page can meet."""
    wanted = {f"state_{s}" for w in WORKFLOWS for s in w.states}
    wanted |= {f"act_{t.action}" for t in APPLICATION_WORKFLOW.transitions}  # the application page's buttons
    wanted |= {f"role_{r.value}" for r in Role}
    wanted |= {f"purpose_{p}" for p in PURPOSES} | {f"engine_{e}" for e in ENGINES}
    wanted |= {f"field_{name}" for name, _kind in FORM_FIELDS}
    wanted |= {f"check_{s}" for s in (rules.BLOCKED, rules.REVIEW, rules.SUGGESTION, rules.INFO, "pass")}
    wanted |= {f"account_{s}" for s in ("active", "disabled", "locked")}  # identity.service.account_state
    wanted |= {f"decision_{d}" for d in ("granted", "refused")}  # governance.models.Application.decision
    # an application's history: the events of the application and of its permits (permits.history)
    wanted |= {"event_" + a.value.replace(":", "_") for a in AuditAction if a.value.split(":")[0] in ("application", "permit")}
    wanted |= {f"rule_{r}" for r in finding_rules()}
    wanted |= {f"error_{kind.code}" for kind in error_kinds()}
    wanted |= {f"confirm_{act}" for act in governance.IRREVERSIBLE | admin.CONFIRMED}  # what follows, asked once more
    wanted |= {f"act_{act}" for act in admin.ACTIONS}  # what an administrator does to an account
    wanted |= {f"provenance_{k}" for k in ("job", "engine", "snapshot", "extract", "permit", "query")}  # review.html
    wanted |= {f"save_and_{act}" for act in governance.FORM_ACTIONS}  # the form's own sending buttons
    wanted |= {f"sector_{s}" for s in ("private", "public")}  # identity.models.Organisation.sector
    wanted |= {f"scope_{code}" for code in scope.ENGLISH}
    wanted |= {f"finding_{code}" for code in said.ENGLISH}  # what a disclosure check says (airlock/said.py)  # the scope builder's problems (governance.scope)
    wanted |= {f"criterion_{item}" for item in criteria.ITEMS}  # the decision screen's Art. 68(1)–(2) items
    wanted |= {f"bool_{answer}" for answer in ("yes", "no")}  # a yes/no field (web.forms)
    wanted |= {f"sex_{s}" for s in (*SEXES, "both")} | {f"combine_{c}" for c in COMBINE}  # the population's choices
    wanted |= {f"said_{code}" for code in coded_errors()}  # what an error says, by its code
    wanted |= {"said_forbidden"}  # every refusal of a role or a person, in one sentence (its detail names codes)
    wanted |= {"said_not_found"}  # every missing thing, in one sentence (the address names it)
    mailed = {*notices.KINDS, "activation", "reset_asked", "reset_done"}  # notices, account links, resets
    wanted |= {f"reset_what_{kind}" for kind in resets.KINDS}  # what a reset message says was reset
    wanted |= {f"mail_{kind}_{part}" for kind in mailed for part in ("subject", "body")}
    return wanted


@cache
def error_kinds() -> set[type]:
    """Every kind of domain error a page can show (an error page titles it by its class's code)."""
    import bastide.server  # noqa: F401 — defines the API's errors and imports every domain's
    import bastide.cli.main  # noqa: F401 — and the commands', with every domain

    def below(kind: type) -> set[type]:
        return {kind} | {k for sub in kind.__subclasses__() for k in below(sub)}

    kinds = below(DomainError)
    assert len(kinds) > 20
    return kinds


# the operators' domains: their errors reach a terminal (the CLI prints the message), not a page
OPERATORS = ("backup", "migration", "export", "cli", "storage", "base")  # the catalogue is the dictionary's


@cache
def coded_errors() -> set[str]:
    """Every code an error is raised with in the domains pages reach (read from the source, so a
    new one cannot be missed), less the codes of the error classes themselves, which title the
    error (`error_<code>`) and say nothing of their own."""
    root = Path(rules.__file__).parents[1]
    files = [f for f in root.rglob("*.py") if f.relative_to(root).parts[0] not in OPERATORS]
    found = {code for f in files for code in re.findall(r'\bcode="([a-z_]+)"', f.read_text())}
    # an error keeping its class's code (the audit's outcome) but saying more: its own words
    found |= {code for f in files for code in re.findall(r'\bwords="said_([a-z_]+)"', f.read_text())}
    found |= {code for code, _english in REFUSED.values()} | {"form_refused"}  # a page form's refused values
    assert len(found) > 40
    return found - {kind.code for kind in error_kinds()}


@cache
def finding_rules() -> set[str]:
    """Every rule a disclosure check's finding names: the table rules, and each code a finding is
    made with anywhere in the airlock (read from its source, so a new rule cannot be missed)."""
    source = "\n".join(f.read_text() for f in Path(rules.__file__).parent.glob("*.py"))
    made = set(re.findall(r'(?:Finding|_finding)\("([a-z_0-9]+)"', source))
    assert len(made) > 10
    return made | set(rules.TABLE_RULES)


def test_both_languages_hold_the_same_codes_each_with_a_text():
    french, english = codes("fr"), codes("en")
    assert set(french) == set(english), set(french) ^ set(english)
    assert [k for k, v in {**french, **english}.items() if not v.strip()] == []
    assert not any(m.fuzzy for lang in i18n.LANGUAGES for m in i18n.catalogue(lang) if m.id)


def test_french_is_french():
    """A text copied from English into the French catalogue is a translation left undone: only
    these words are written alike in both languages."""
    alike = {k for k, v in codes("fr").items() if v == codes("en")[k]}
    assert alike == {"actions", "catalogue", "check_suggestion", "codes", "columns", "date", "description",
                     "nomenclature", "nomenclatures", "note", "page", "provenance", "script", "sector_public", "table", "tables", "total", "type",
                     "variable", "version"}


def test_every_code_a_template_asks_for_is_in_both_catalogues():
    asked = asked_by_templates()
    assert len(asked) > 150  # the extraction found the templates' calls, not nothing
    for lang in i18n.LANGUAGES:
        assert sorted(asked - set(codes(lang))) == [], lang


def test_every_status_action_role_purpose_and_check_result_has_its_words():
    for lang in i18n.LANGUAGES:
        assert sorted(shown_by_code() - set(codes(lang))) == [], lang


def test_no_code_is_kept_that_nothing_asks_for():
    """A code neither a template nor a family of values asks for is dead text translators keep
    translating."""
    built_in_pages = ("todo_", "section_", "state_", "cut_")  # home.html, output.html build these
    set_by_pages = {"job_waiting", "no_worker"}  # web.workspace.job_page
    unused = {k for k in codes("en") if k not in asked_by_templates() | shown_by_code() | set_by_pages
              and not k.startswith(built_in_pages)}
    assert sorted(unused) == []


def test_a_code_a_catalogue_lacks_is_warned_about_and_shown_as_itself():
    gettext = i18n.gettext("fr")
    assert gettext("state_processing") == "en instruction"
    with pytest.warns(i18n.MissingTranslation, match="no text for 'state_nowhere'"):
        assert gettext("state_nowhere") == "state_nowhere"


def test_a_known_code_warns_nothing():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert i18n.gettext("en")("act_grant") == "Grant"


@pytest.mark.parametrize(("query", "cookie", "accept", "lang"), [
    ("en", "fr", "fr-FR", "en"),  # the link's choice first
    (None, "en", "fr-FR", "en"),  # then the kept choice
    (None, None, "en-GB,en;q=0.9", "en"),  # then the browser's
    (None, None, "de-DE", "fr"),  # the platform's language otherwise
    ("xx", None, None, "fr"),  # an unknown language is ignored, not an error
])
def test_the_language_comes_from_the_link_then_the_cookie_then_the_browser(query, cookie, accept, lang):
    assert i18n.pick_language(query, cookie, accept) == lang


def test_an_errors_words_ask_for_the_same_values_in_both_languages():
    """`said_<code>` is formatted with the error's details: a value named in one language only
    would be missing from the other's page."""
    named = {lang: {k: sorted(re.findall(r"%\((\w+)\)s", v)) for k, v in codes(lang).items() if k.startswith("said_")}
             for lang in i18n.LANGUAGES}
    assert named["fr"] == named["en"] and len(named["fr"]) > 40


def test_an_error_is_said_by_its_code_with_its_details_or_by_its_message():
    said = i18n_platform.said
    assert said("fr", "said_assessment_unfavourable", {"against": ["c", "risk_a"]}, "x").startswith(
        "c, risk_a : non rempli")
    assert said("en", "said_call_closed", {"opens_on": "2027-01-01", "closes_on": "2027-02-01"}, "x") == \
        "The call is open from 2027-01-01 to 2027-02-01."
    assert said("fr", "said_a_code_without_words", {}, "the English message") == "the English message"
    with pytest.warns(i18n.MissingTranslation, match="said_call_closed asks for a value"):
        assert said("fr", "said_call_closed", {}, "the English message") == "the English message"
    assert DomainError("x", code="call_closed").words == "said_call_closed"
    assert DomainError("x", words="scope_unlinked").words == "scope_unlinked"  # a family that already says it
    choice = not_among("action", ("approve", "return"))  # a value outside its few choices, one sentence for all
    assert choice.code == "not_a_choice" and choice.message == "action is one of approve, return"
    assert said("fr", choice.words, choice.details, choice.message) == \
        "« action » ne prend que l'une de ces valeurs : approve, return."


def test_the_english_catalogue_says_what_a_finding_says():
    """A finding's English catalogue text is its domain text (airlock/said.py) with the same values:
    the page and the API's report say the same thing."""
    from bastide.airlock.said import Said

    english = codes("en")
    for code, text in said.ENGLISH.items():
        values = {name: f"<{name}>" for name in re.findall(r"\{(\w+)\}", text)}
        assert english[f"finding_{code}"] % values == str(Said(code, **values)), code

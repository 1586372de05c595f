"""French and English for the pages and the mail, from gettext catalogues (locale/<lang>/LC_MESSAGES).

The catalogues are the files translators' tools read (Poedit, Weblate), kept by Babel. Their
message ids are codes (`sign_in`, `state_draft`, `act_grant`, `field_title`): a page asks for a
code, each language gives its text. A code a catalogue lacks is shown as the code and warned
about (MissingTranslation): the tests turn warnings into errors, so a page that would show an
untranslated identifier fails its test. (Which language a page speaks: web/i18n.py.)"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from functools import cache
from io import BytesIO
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

LANGUAGES = ("fr", "en")
LOCALE = Path(__file__).parent / "locale"
DOMAIN = "messages"


class MissingTranslation(UserWarning):
    """A page asked for a code a catalogue does not hold."""


def catalogue_path(lang: str) -> Path:
    return LOCALE / lang / "LC_MESSAGES" / f"{DOMAIN}.po"


@cache
def catalogue(lang: str) -> Catalog:
    with open(catalogue_path(lang), "rb") as fh:
        return read_po(fh, locale=lang, domain=DOMAIN)


@cache
def translations(lang: str) -> Translations:
    """Compiled in memory from the .po file when first asked for (no .mo to build or commit)."""
    compiled = BytesIO()
    write_mo(compiled, catalogue(lang))
    compiled.seek(0)
    return Translations(compiled, domain=DOMAIN)


@cache
def _known(lang: str) -> frozenset[str]:
    return frozenset(m.id for m in catalogue(lang) if m.id and m.string)


def gettext(lang: str) -> Callable[[str], str]:
    translated, known = translations(lang).gettext, _known(lang)

    def get(code: str) -> str:
        if code not in known:
            warnings.warn(f"the {lang} catalogue has no text for {code!r} ({catalogue_path(lang)})",
                          MissingTranslation, stacklevel=2)
        return translated(code)

    return get


def said(lang: str, key: str, values: dict, fallback: str) -> str:
    """What an error says in `lang`: the catalogue's text `key` (`said_<code>` for most), its
    %(names)s taken from the error's details (a list as "a, b"), or `fallback` (its English
    message) when no text was written for it. A text asking for a value the error lacks is
    warned about."""
    if key not in _known(lang):
        return fallback
    shown = {k: ", ".join(map(str, v)) if isinstance(v, list | tuple) else str(v) for k, v in values.items()}
    try:
        return translations(lang).gettext(key) % shown
    except (KeyError, TypeError, ValueError):
        warnings.warn(f"{key} asks for a value its error does not carry (it has {sorted(shown)})",
                      MissingTranslation, stacklevel=2)
        return fallback


def ngettext(lang: str) -> Callable[[str, str, int], str]:
    return translations(lang).ngettext


def mail(kind: str, values: dict[str, str], link: str = "", *, coded: dict[str, str] | None = None) -> tuple[str, str]:
    """A message's subject and body, French first (the platform's language) then English, from the
    catalogues' `mail_<kind>_subject` and `mail_<kind>_body`, each language's text followed by the
    link (if any). `coded` values are codes, given in each language's words."""
    subjects, bodies = [], []
    for lang in LANGUAGES:
        words = gettext(lang)
        named = {**values, **{k: words(code) for k, code in (coded or {}).items()}}
        subjects.append(words(f"mail_{kind}_subject") % named)
        body = words(f"mail_{kind}_body") % named
        bodies.append(f"{body}\n\n{link}" if link else body)
    return "[Bastide] " + " / ".join(subjects), "\n\n-- \n\n".join(bodies) + "\n"

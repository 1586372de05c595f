"""The pages' language: `?lang=`, then the `lang` cookie, then the browser's Accept-Language; the
texts themselves are the platform's catalogues (bastide.i18n), which mail uses too."""

from __future__ import annotations

from bastide.i18n import LANGUAGES, MissingTranslation, catalogue, catalogue_path, gettext, ngettext, said

__all__ = ["LANGUAGES", "MissingTranslation", "catalogue", "catalogue_path", "gettext", "ngettext", "pick_language",
           "said"]


def pick_language(query: str | None, cookie: str | None, accept: str | None) -> str:
    for candidate in (query, cookie):
        if candidate in LANGUAGES:
            return candidate
    return "en" if (accept or "").lower().startswith("en") else "fr"

"""The data dictionary's pages (issue 18, item 1): public, French and English, working without
JavaScript. Releases → tables → variables (type, description, nomenclature), a search over the
newest release of each dataset, and the shipped nomenclatures browsable by code or label. Pages
of their own domain (issue 18, item 12), over catalogue.dictionary and base.nomenclatures."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from bastide.gate.egress import Egress, allows
from bastide.base import nomenclatures
from bastide.catalogue import dictionary
from bastide.catalogue import service as catalogue
from bastide.catalogue.dictionary import completeness
from bastide.errors import DomainError
from bastide.gate.auth import peek
from bastide.governance import scope
from bastide.governance import service as gov
from bastide.gate.request import unit_of_work as _db
from bastide.web.render import render

router = APIRouter(include_in_schema=False, dependencies=[allows(Egress.PUBLIC)])


@router.get("/dictionary", response_class=HTMLResponse)
def index(request: Request, q: str = ""):
    """Every published release; with `q`, what matches it in the newest of each dataset."""
    hits, error = None, None
    with _db(request) as session:
        releases = [(s.ref, s.dataset.title, s.published_at, s.table_count) for s in dictionary.published(session)]
        if q.strip():
            try:
                hits = dictionary.search(session, q)
            except DomainError as exc:
                error = exc
    return render(request, "dictionary.html", {"releases": releases, "q": q, "hits": hits, "error": error,
                                               "limit": dictionary.SEARCH_LIMIT,
                                               "nomenclatures": nomenclatures.shipped()},
                  status=error.http_status if error else 200)


@router.get("/dictionary/nomenclatures/{name}", response_class=HTMLResponse)
def nomenclature(request: Request, name: str, q: str = "", page: int = 1):
    """A shipped nomenclature, searched and paged; to an applicant with an application under way,
    the codes of a criterion's list to tick and add to it (a code picker without script)."""
    shown = nomenclatures.browse(name, q, page)
    who, criterion = peek(request), next((c for c, n in scope.PICKED.items() if n == name), None)
    drafts = []
    if who is not None and criterion is not None:
        with _db(request) as session:
            drafts = _drafts(session, who)
    code = shown.nomenclature.columns.index(shown.nomenclature.code)
    return render(request, "nomenclature.html", {"shown": shown, "q": q, "drafts": drafts, "criterion": criterion,
                                                 "code_at": code}, who=who)


@router.get("/dictionary/{ref}", response_class=HTMLResponse)
def release(request: Request, ref: str):
    with _db(request) as session:
        snapshot = catalogue.get_snapshot(session, ref)  # published only
        tables = [(t.name, t.title, t.product, t.rows, len(t.variables)) for t in snapshot.tables]
        title = snapshot.dataset.title
    return render(request, "dictionary_release.html", {"ref": ref, "title": title, "tables": tables})


@router.get("/dictionary/{ref}/{table}", response_class=HTMLResponse)
def table(request: Request, ref: str, table: str):
    who = peek(request)
    with _db(request) as session:
        found = dictionary.table(session, ref, table)
        variables = [(v.position, v.name, v.type, v.length, v.description, v.nomenclature,
                      completeness(v.filled, found.rows), v.values()) for v in found.variables]
        shown = {"name": found.name, "title": found.title, "product": found.product, "rows": found.rows,
                 "primary_key": found.primary_key, "partitioning": found.partitioning}
        drafts = _drafts(session, who)
    return render(request, "dictionary_table.html", {"ref": ref, "table": shown, "variables": variables,
                                                     "shipped": nomenclatures.shipped(), "drafts": drafts}, who=who)


def _drafts(session, who) -> list[tuple[int, str, str]]:
    """The applications the signed-in person may still add to (none when nobody is signed in)."""
    return [(a.id, a.reference, a.title) for a in gov.drafts_of(session, actor=who.actor)] if who else []

"""Review in place (issue 18, item 7): an independent checker reads a submitted output on a
page — a table with the cells the checks found highlighted and the findings beside it, an image
shown, anything else as text — with its provenance (the script or query that wrote it, the job,
the extract and permit), instead of downloading it. Under the checker-review egress rule, read
through airlock.under_review (independence, the request under review, every read audited)."""

from __future__ import annotations

import base64
import csv
import io

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from bastide.airlock import comments
from bastide.airlock import service as airlock
from bastide.gate.egress import Egress, allows
from bastide.gate.guards import Checker
from bastide.web.render import render

router = APIRouter(include_in_schema=False)
ROWS, COLUMNS = 1000, 60  # a page shows at most this much of a table (the rest: say so)
IMAGES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".svg": "image/svg+xml"}


@router.get("/releases/{request_id}/files/{name}/review", response_class=HTMLResponse,
            dependencies=[allows(Egress.REVIEW)])
def review(request: Request, request_id: int, name: str, who: Checker):
    platform = request.app.state.platform
    with platform.db.unit_of_work() as session:
        release_request = airlock.get_request(session, request_id)
        seen = airlock.under_review(session, platform=platform, actor=who.actor, request=release_request, name=name)
        context = {"req": {"id": release_request.id, "reference": release_request.reference,
                           "title": release_request.title},
                   "file": {"name": seen.file.name, "sha256": seen.file.sha256, "description": seen.file.description,
                            "exception": seen.file.exception, "report": seen.file.report},
                   "script": seen.script, "provenance": seen.provenance, **_shown(name, seen.content, seen.file.report),
                   "comments": [c for c in release_request.comments if c.file == name],
                   "commenting": comments.can_comment(who.actor, release_request)}
    return render(request, "review.html", context, who=who)


def _shown(name: str, content: bytes, report: dict) -> dict:
    suffix = name[name.rfind("."):].lower() if "." in name else ""
    if suffix in IMAGES:
        return {"image": f"data:{IMAGES[suffix]};base64,{base64.b64encode(content).decode()}"}
    text = content.decode("utf-8", errors="replace")
    if suffix != ".csv":
        return {"text": text[:200_000]}
    rows = list(csv.reader(io.StringIO(text), delimiter=";" if text.split("\n", 1)[0].count(";") else ","))
    header, body = (rows[0], rows[1:]) if rows else ([], [])
    return {"header": header[:COLUMNS], "rows": [r[:COLUMNS] for r in body[:ROWS]], "total_rows": len(body),
            "marked": _marked(report, header)}


def _marked(report: dict, header: list[str]) -> dict:
    """Where each finding points: (row, column index) cells, whole rows, whole columns -> outcome."""
    cells, rows, columns = {}, {}, {}
    for f in report.get("findings", []):
        row, column = f.get("row"), f.get("column")
        index = header.index(column) if column in header else None
        if row and index is not None:
            cells[f"{row}:{index}"] = f["outcome"]
        elif row:
            rows[row] = f["outcome"]
        elif index is not None:
            columns[index] = f["outcome"]
    return {"cells": cells, "rows": rows, "columns": columns}

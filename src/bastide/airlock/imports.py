"""The import lane (SPE-09): a researcher asks to bring a file into their workspace (analysis
code, codelists, nomenclatures, public reference data). Type and size are checked at once, the
content is scanned for identifiers, one independent output checker decides, every step is
audited and the file's hash recorded. Approved files are read-only for the workspace's jobs."""

from __future__ import annotations

import hashlib
import re
import tempfile
from pathlib import Path

from sqlalchemy.orm import Session

from bastide import transitions
from bastide.airlock.check import check_file
from bastide.airlock.models import ImportRequest
from bastide.airlock.rules import BLOCKED, Finding, Parameters
from bastide.airlock.said import Said
from bastide.airlock.service import newest_first, require_independent, require_member
from bastide.airlock.tables import TABLE_SUFFIXES
from bastide.airlock.workflow import IMPORT_WORKFLOW
from bastide.audit.actions import AuditAction
from bastide.audit.service import record
from bastide.db import utcnow
from bastide.errors import Conflict, InvalidInput, NotFound
from bastide.keys.sealed import get_sealed, put_sealed
from bastide.platform import Platform
from bastide.statemachine import Actor
from bastide.workspaces import brought
from bastide.workspaces.models import Workspace

ALLOWED = (".py", ".sql", ".r", ".csv", ".tsv", ".parquet", ".json", ".txt", ".md", ".yaml", ".yml")
MAX_BYTES = 16 * 1024 * 1024
NAME = re.compile(r"^[\w.-]{1,200}$")
PSEUDONYM_OR_NIR = re.compile(r"\b(?:[0-9a-f]{64}|[12]\d{2}(?:0[1-9]|1[0-2])\d{8}(?:\d{2})?)\b")


def target(imp: ImportRequest) -> str:
    return f"import:{imp.reference}"


def scan(name: str, content: bytes) -> dict:
    """Identifiers in what comes in: tables by the release rules (names, pseudonym values), any
    text for pseudonyms and numbers shaped like a NIR."""
    findings: list[Finding] = []
    if Path(name).suffix.lower() in TABLE_SUFFIXES:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / name
            path.write_bytes(content)
            report = check_file(path, params=Parameters(max_rows=10**7))
        findings = [f for f in report.findings if f.rule in ("identifiers", "readable")]
    else:
        text = content.decode("utf-8", errors="replace")
        for line_number, line in enumerate(text.splitlines(), start=1):
            if PSEUDONYM_OR_NIR.search(line):
                findings.append(Finding("identifiers", BLOCKED, Said("import_identifier", line=line_number), name, {},
                                        row=line_number))
                break
    return {"status": BLOCKED if findings else "pass", "findings": [f.to_dict() for f in findings]}


def request_import(session: Session, *, platform: Platform, actor: Actor, ws: Workspace, name: str, content: bytes,
                   purpose: str) -> ImportRequest:
    require_member(session, actor, ws)
    if not NAME.match(name) or name.startswith("."):
        raise InvalidInput("name the file with letters, digits, '.', '-' or '_' only (no folder)",
                           details={"field": "name"}, code="file_name")
    if Path(name).suffix.lower() not in ALLOWED:
        raise InvalidInput(f"only {', '.join(ALLOWED)} files come in", details={"field": "name", "allowed": ALLOWED},
                           code="file_type")
    if not content or len(content) > MAX_BYTES:
        raise InvalidInput(f"a file comes in with 1 byte to {MAX_BYTES // 2**20} MiB",
                           details={"field": "content", "mib": MAX_BYTES // 2**20}, code="file_size")
    if not purpose.strip():
        raise InvalidInput("say what the file is for", details={"field": "purpose"}, code="file_purpose")
    if ws.files_key_id is None:
        raise Conflict(f"{ws.reference} predates imports: provision it again", code="no_files_key")
    imp = ImportRequest(workspace_id=ws.id, status=IMPORT_WORKFLOW.initial, requested_by=actor.id, name=name,
                        purpose=purpose.strip(), sha256=hashlib.sha256(content).hexdigest(), size=len(content),
                        key="", key_id=ws.files_key_id, report=scan(name, content), created_at=utcnow())
    session.add(imp)
    session.flush()
    imp.key = f"workspaces/{ws.reference}/imports/{imp.reference}/{name}"
    put_sealed(session, store=platform.store, keys=platform.keys, key_id=imp.key_id, where=imp.key, content=content)
    record(session, actor=actor, action=AuditAction.IMPORT_SUBMIT, target=target(imp),
           details={"workspace": ws.reference, "name": name, "sha256": imp.sha256, "size": imp.size,
                    "scan": imp.report["status"]})
    return imp


def get_import(session: Session, import_id: int) -> ImportRequest:
    imp = session.get(ImportRequest, import_id)
    if imp is None:
        raise NotFound(f"no import {import_id}")
    return imp


def list_imports(session: Session, *, ws: Workspace | None = None, status: tuple[str, ...] = ()) -> list:
    return newest_first(session, ImportRequest, ws=ws, status=status)


def decide(session: Session, *, actor: Actor, imp: ImportRequest, action: str, comment: str = "") -> None:
    """One independent checker approves or rejects; nothing with identifiers is approved."""
    if action == "withdraw":
        require_member(session, actor, imp.workspace)
    else:
        require_independent(actor, imp)
        if action == "approve" and imp.report["status"] == BLOCKED:
            raise Conflict(f"{imp.name} holds identifiers: it cannot come in", code="identifiers")
        if action == "reject" and not comment.strip():
            raise InvalidInput("say why (the researcher reads it)", details={"field": "comment"},
                               code="comment_required")
    transitions.apply(session, IMPORT_WORKFLOW, imp, action=action, actor=actor, target=target(imp),
                      details={"comment": comment.strip()} if comment.strip() else None)
    imp.reviewer = actor.id if action != "withdraw" else imp.reviewer
    imp.comment, imp.decided_at = comment.strip() or None, utcnow()
    if action == "approve":  # the workspace now holds it: its jobs find it at /data/imports
        brought.hand_over(session, ws=imp.workspace, name=imp.name, key=imp.key, key_id=imp.key_id, sha256=imp.sha256,
                          size=imp.size, source=imp.reference)


def content(session: Session, *, platform: Platform, imp: ImportRequest) -> bytes:
    data = get_sealed(session, store=platform.store, keys=platform.keys, key_id=imp.key_id, where=imp.key)
    if hashlib.sha256(data).hexdigest() != imp.sha256:
        raise Conflict(f"{imp.name} changed since it was asked for", code="integrity")
    return data


def read_for_review(session: Session, *, platform: Platform, actor: Actor, imp: ImportRequest) -> bytes:
    """The file as asked for, for the checker who decides on it; the read is audited."""
    data = content(session, platform=platform, imp=imp)
    record(session, actor=actor, action=AuditAction.IMPORT_READ, target=target(imp),
           details={"sha256": imp.sha256, "size": len(data), "egress": "import-review"})
    return data

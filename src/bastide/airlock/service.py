"""Release requests (SPE-07, SPE-08, AUD-09): a researcher asks for outputs of their workspace,
each described and checked; independent output checkers vote file by file, blind until they
have voted; approved files leave under `releases/<REL>/` with a signed RELEASE.json; only the
permit's persons download them, audited."""

from __future__ import annotations

import hashlib
import json
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from bastide import transitions
from bastide.airlock.canonical import canonical
from bastide.airlock.check import check_file
from bastide.airlock import identifiers as ids
from bastide.airlock import ledger, rules
from bastide.airlock.record import FORMAT, RECORD
from bastide.airlock.models import Release, ReleasedTable, ReleaseFile, ReleaseRequest, ReleaseVote
from bastide.airlock.tables import DECLARATION, EVIDENCE, TABLE_SUFFIXES, UnreadableTable
from bastide.airlock.tables import read as read_table
from bastide.airlock.rules import BLOCKED, Parameters
from bastide.airlock.workflow import RELEASE_WORKFLOW, UNDER_REVIEW
from bastide.audit.actions import AuditAction
from bastide.audit.service import record
from bastide.config import Settings
from bastide.db import utcnow
from bastide.errors import Conflict, IntegrityError, InvalidInput, NotFound
from bastide.identity.policy import Forbidden, has_permission
from bastide.identity.roles import Permission
from bastide.keys.signing import document_file, sign_document
from bastide.notices import service as notices
from bastide.platform import Platform
from bastide.statemachine import SYSTEM, Actor
from bastide.workspaces.jobs import read_output
from bastide.workspaces.models import Job, Output, Workspace
from bastide.workspaces.query import entry_refusal, members
from bastide.workspaces.service import current_extract, ended_permit, why_ended

DECISIONS = ("approve", "reject", "return")
GATE_RULES = ("gate", "readable")  # what no exception can let through


def target(request: ReleaseRequest) -> str:
    return f"release:{request.reference}"


def _move(session: Session, *, actor: Actor, request: ReleaseRequest, action: str, details: dict | None = None) -> None:
    transitions.apply(session, RELEASE_WORKFLOW, request, action=action, actor=actor, target=target(request),
                      details=details)
    request.updated_at = utcnow()


def get_request(session: Session, request_id: int) -> ReleaseRequest:
    request = session.get(ReleaseRequest, request_id)
    if request is None:
        raise NotFound(f"no release request {request_id}")
    return request


def newest_first(session: Session, model, *, ws: Workspace | None = None, status: tuple[str, ...] = ()) -> list:
    """Requests of one kind (releases, imports), the newest first, of a workspace and in states."""
    query = select(model).order_by(model.id.desc())
    if ws is not None:
        query = query.where(model.workspace_id == ws.id)
    if status:
        query = query.where(model.status.in_(status))
    return list(session.execute(query).scalars())


def list_requests(session: Session, *, ws: Workspace | None = None, status: tuple[str, ...] = ()) -> list:
    return newest_first(session, ReleaseRequest, ws=ws, status=status)


def require_member(session: Session, actor: Actor, ws: Workspace) -> None:
    """Raise unless `actor` may work in `ws` (a person of its permit, the workspace ready, the
    permit neither revoked nor ended: nothing leaves a closed workspace)."""
    error = entry_refusal(session, actor=actor, ws=ws)
    if error is not None:
        raise error


def _editable(request: ReleaseRequest) -> None:
    if request.status not in ("draft", "returned"):
        raise Conflict(f"{request.reference} is {request.status}: files change only in a draft or a returned request",
                       code="request_locked")


def create_request(session: Session, *, actor: Actor, ws: Workspace, title: str, settings: Settings) -> ReleaseRequest:
    require_member(session, actor, ws)
    if not title.strip():
        raise InvalidInput("give the request a title (what the outputs are for)", details={"field": "title"},
                           code="request_title_required")
    now = utcnow()
    document = json.loads(ws.permit.document)
    policy = document.get("outputs", {})  # the permit's own, if the access body set one
    dataset = document["data"]["snapshot"].split("@")[0]
    threshold = policy.get("threshold", settings.airlock_dataset_thresholds.get(dataset, settings.airlock_threshold))
    request = ReleaseRequest(workspace_id=ws.id, status=RELEASE_WORKFLOW.initial, requested_by=actor.id,
                             title=title.strip()[:300],
                             approvals_required=policy.get("approvals", settings.airlock_approvals),
                             parameters=Parameters(threshold=threshold).to_dict(), created_at=now, updated_at=now)
    session.add(request)
    session.flush()
    record(session, actor=actor, action=AuditAction.RELEASE_CREATE, target=target(request),
           details={"workspace": ws.reference, "parameters": request.parameters})
    return request


def _beside(session: Session, output: Output, suffix: str) -> Output | None:
    """The output its job wrote beside it for the checks (`<name>.sdc.json`, `<name>.sdc.csv`)."""
    same_origin = Output.job_id.is_(None) if output.job_id is None else Output.job_id == output.job_id
    return session.execute(select(Output).where(Output.workspace_id == output.workspace_id, same_origin,
                                                Output.name == f"{output.name}{suffix}")
                           .order_by(Output.id.desc())).scalars().first()


def _declared(session: Session, platform: Platform, output: Output) -> dict | None:
    """The structure its job declared beside it, if any."""
    sidecar = _beside(session, output, DECLARATION)
    if sidecar is None:
        return None
    try:
        return json.loads(read_output(session, platform, sidecar))
    except ValueError:
        return None  # the checks then infer the structure, and say so


@contextmanager
def _on_disk(name: str, content: bytes, evidence: bytes | None = None) -> Iterator[Path]:
    """An output's content (and its evidence of dominance) in a private temporary folder, for the
    time of the checks."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / Path(name).name
        path.write_bytes(content)
        if evidence is not None:
            path.with_name(path.name + EVIDENCE).write_bytes(evidence)
        yield path


def ledger_for(session: Session, ws: Workspace) -> list[ledger.Released]:
    """What was released from this project and from the other projects of the same holder."""
    rows = session.execute(select(ReleasedTable).where(or_(
        ReleasedTable.workspace_id == ws.id, ReleasedTable.organisation_id == ws.application.organisation_id))
        .order_by(ReleasedTable.id)).scalars()
    return [ledger.Released(r.release.reference, r.file, tuple(r.dimensions),
                            tuple((tuple(key), count) for key, count in r.cells)) for r in rows]


def check_output(session: Session, platform: Platform, output: Output, params: Parameters) -> dict:
    """The disclosure checks on an output, the ledger's differencing and the project's size included."""
    ws = session.get(Workspace, output.workspace_id)
    released = ledger_for(session, ws)
    differencing = lambda table, p: ledger.differencing(table, released, p)  # noqa: E731
    extract = current_extract(session, ws)
    record_level = rules.microdata(extract.cohort if extract else None)
    ours = rules.project_identifiers(known_identifiers(session, platform, extract) if extract else ids.Known())
    evidence = _beside(session, output, EVIDENCE)
    with _on_disk(output.name, read_output(session, platform, output),
                  read_output(session, platform, evidence) if evidence else None) as path:
        return check_file(path, params=params, root=path.parent, declared=_declared(session, platform, output),
                          extra=[differencing, record_level, ours]).to_dict()


_KNOWN: dict[tuple[str, int], ids.Known] = {}  # by store and extract: an extract never changes


def known_identifiers(session: Session, platform: Platform, extract) -> ids.Known:
    """The extract's pseudonyms and surrogates (persons, stays, professionals) and claims' numbers,
    read once from its encrypted files by the platform, for the identifier rule."""
    from bastide.workspaces.compile import CLAIM_NUMBERS, STAY_NUMBERS
    from bastide.workspaces.query import extract_tables
    from bastide.workspaces.spec import PERSON_IDS, PROFESSIONAL_IDS

    cached = (platform.store.url, extract.id)
    if cached not in _KNOWN:
        hexadecimal, numbers = set(), set()
        for source in extract_tables(session, platform, extract).values():
            names = source.schema.names
            for column in sorted((PERSON_IDS | PROFESSIONAL_IDS | set(STAY_NUMBERS)) & set(names)):
                hexadecimal.update(source.dataset.to_table(columns=[column]).column(0).unique().to_pylist())
            for column in sorted(set(CLAIM_NUMBERS) & set(names)):
                numbers.update(source.dataset.to_table(columns=[column]).column(0).unique().to_pylist())
        while len(_KNOWN) >= 16:  # the few extracts being checked now
            _KNOWN.pop(next(iter(_KNOWN)))
        _KNOWN[cached] = ids.Known.of(hexadecimal, numbers)
    return _KNOWN[cached]


def _keep_in_ledger(session: Session, platform: Platform, release: Release, request: ReleaseRequest,
                    contents: dict[str, bytes]) -> None:
    ws = request.workspace
    for file in request.files:
        if Path(file.name).suffix.lower() not in TABLE_SUFFIXES:
            continue
        with _on_disk(file.name, contents[file.name]) as path:
            try:
                kept = ledger.entry(read_table(path, declared=_declared(session, platform, file.output)))
            except UnreadableTable:
                kept = None
        if kept:
            session.add(ReleasedTable(release_id=release.id, workspace_id=ws.id,
                                      organisation_id=ws.application.organisation_id, file=file.name,
                                      created_at=release.created_at, **kept))


def add_file(session: Session, *, platform: Platform, actor: Actor, request: ReleaseRequest, output_id: int,
             description: str, exception: str | None = None) -> ReleaseFile:
    """Add (or replace) an output in the request, checked at once; a replaced file is reviewed anew."""
    require_member(session, actor, request.workspace)
    _editable(request)
    output = session.get(Output, output_id)
    if output is None or output.workspace_id != request.workspace_id:
        raise NotFound(f"no output {output_id} in {request.workspace.reference}")
    if not description.strip():
        raise InvalidInput("describe the file: what it shows, the population, how it was computed",
                           details={"field": "description"}, code="description_required")
    report = check_output(session, platform, output, Parameters(**request.parameters))
    file = next((f for f in request.files if f.name == output.name), None)
    if file is None:
        file = ReleaseFile(output_id=output.id, name=output.name, sha256=output.sha256, description="", report={})
        request.files.append(file)
    elif (file.output_id, file.description, file.exception) != (output.id, description.strip(), exception):
        file.round += 1  # a changed file: its earlier votes no longer count
    file.output_id, file.sha256, file.report = output.id, output.sha256, report
    file.description, file.exception = description.strip(), (exception or "").strip() or None
    session.flush()
    record(session, actor=actor, action=AuditAction.RELEASE_FILE, target=target(request),
           details={"file": file.name, "sha256": file.sha256, "checks": report["status"], "round": file.round})
    return file


def remove_file(session: Session, *, actor: Actor, request: ReleaseRequest, name: str) -> None:
    require_member(session, actor, request.workspace)
    _editable(request)
    file = _file(request, name)
    request.files.remove(file)
    record(session, actor=actor, action=AuditAction.RELEASE_FILE, target=target(request),
           details={"file": name, "removed": True})


def _file(request: ReleaseRequest, name: str) -> ReleaseFile:
    file = next((f for f in request.files if f.name == name), None)
    if file is None:
        raise NotFound(f"{request.reference} has no file {name}")
    return file


def submit(session: Session, *, platform: Platform, actor: Actor, request: ReleaseRequest) -> None:
    """The same checks again; a blocked file goes on only with a written exception, never past the gate."""
    require_member(session, actor, request.workspace)
    if not request.files:
        raise InvalidInput("add at least one output to the request", details={"field": "files"}, code="no_outputs")
    params = Parameters(**request.parameters)
    for file in request.files:
        file.report = check_output(session, platform, file.output, params)
        blocked = sorted({f["rule"] for f in file.report["findings"] if f["outcome"] == BLOCKED})
        if set(blocked) & set(GATE_RULES):
            raise InvalidInput(f"{file.name} cannot leave: {file.report['findings'][0]['message']}",
                               details={"file": file.name, "rules": blocked}, code="output_refused")
        if blocked and not file.exception:
            raise InvalidInput(f"{file.name} is blocked by {', '.join(blocked)}: fix the output (suppress, group, "
                               "remove), or explain in an exception why it is safe", details={"file": file.name,
                                                                                             "rules": blocked},
                               code="output_blocked")
    _move(session, actor=actor, request=request, action="submit",
          details={"files": [{"name": f.name, "sha256": f.sha256, "checks": f.report["status"]} for f in request.files]})


def withdraw(session: Session, *, actor: Actor, request: ReleaseRequest) -> None:
    require_member(session, actor, request.workspace)
    _move(session, actor=actor, request=request, action="withdraw")


def independent(actor: Actor, request: ReleaseRequest) -> bool:
    """A checker is neither the requester nor one of the project's persons (two-person rule)."""
    return actor.id != request.requested_by and actor.id.removeprefix("user:") not in members(request.workspace)


def require_independent(actor: Actor, request) -> None:
    """Raise unless `actor` may judge `request` (a release or an import request)."""
    if not independent(actor, request):
        raise Forbidden(f"{actor.id} is on the project of {request.reference}: an independent checker reviews it",
                        details={"request": request.reference})


def may_read(actor: Actor, request: ReleaseRequest) -> None:
    """The project's persons read their requests; independent checkers read what was submitted."""
    if actor.id.removeprefix("user:") in members(request.workspace):
        return
    if has_permission(actor, Permission.OUTPUT_REVIEW) and request.status not in ("draft", "withdrawn"):
        require_independent(actor, request)
        return
    raise Forbidden(f"{actor.id} may not read {request.reference}", details={"request": request.reference})


@dataclass(frozen=True)
class UnderReview:
    """What an independent checker reviews in place (issue 18, item 7): the file as submitted, its
    findings, and where it comes from — the script or query that wrote it, on which extract."""
    file: ReleaseFile
    content: bytes
    script: str | None  # the job's script, when a job wrote it
    provenance: dict


def under_review(session: Session, *, platform: Platform, actor: Actor, request: ReleaseRequest,
                 name: str) -> UnderReview:
    """The file for review in place: read under the same rule as `file_content` (audited)."""
    content = file_content(session, platform=platform, actor=actor, request=request, name=name)
    file = _file(request, name)
    output = file.output
    job = session.get(Job, output.job_id) if output.job_id else None
    return UnderReview(file, content, job.script if job else None, dict(output.provenance or {}))


def file_content(session: Session, *, platform: Platform, actor: Actor, request: ReleaseRequest, name: str) -> bytes:
    """An output of a submitted request, for an independent checker (they review the content,
    not only the findings); every read audited. Nobody downloads an output before its release:
    the project's persons see its first lines in their workspace (workspaces/viewing.py)."""
    require_independent(actor, request)
    if request.status not in UNDER_REVIEW:
        raise Conflict(f"{request.reference} is {request.status}: its files are read only while it is under review",
                       code="not_under_review")
    file = _file(request, name)
    content = read_output(session, platform, file.output)
    record(session, actor=actor, action=AuditAction.RELEASE_FILE_READ, target=target(request),
           details={"file": name, "sha256": file.sha256, "size": len(content), "egress": "checker-review"})
    return content


def current_votes(file: ReleaseFile) -> list[ReleaseVote]:
    return [v for v in file.votes if v.round == file.round]


def vote(session: Session, *, actor: Actor, request: ReleaseRequest, name: str, decision: str,
         comment: str = "") -> ReleaseVote:
    require_independent(actor, request)
    if decision not in DECISIONS:
        raise InvalidInput(f"a vote is one of {', '.join(DECISIONS)}", details={"field": "decision"},
                           code="decision_unknown")
    if decision != "approve" and not comment.strip():
        raise InvalidInput("say why (the researcher reads it)", details={"field": "comment"}, code="comment_required")
    file = _file(request, name)
    if any(v.reviewer == actor.id for v in current_votes(file)):
        raise Conflict(f"{actor.id} has already voted on {name} in this round", code="already_voted")
    _move(session, actor=actor, request=request, action="vote",
          details={"file": name, "decision": decision, "round": file.round})
    cast = ReleaseVote(reviewer=actor.id, round=file.round, decision=decision, comment=comment.strip(),
                       created_at=utcnow())
    file.votes.append(cast)
    session.flush()
    if all(len({v.reviewer for v in current_votes(f)}) >= request.approvals_required for f in request.files):
        _move(session, actor=SYSTEM, request=request, action="complete")
    return cast


def visible_votes(actor: Actor, request: ReleaseRequest, file: ReleaseFile) -> list[ReleaseVote]:
    """Blind first round: while the votes come in, a checker sees only their own."""
    votes = current_votes(file)
    blind = request.status in ("submitted", "partially_reviewed") and not any(v.reviewer == actor.id for v in votes)
    return [] if blind else votes


def check_can_decide(actor: Actor, request: ReleaseRequest, action: str) -> None:
    """A checker returns or rejects a request under review only once they have voted on each of its
    files: their own review comes first, blind, then a decision on the whole (issue 18, item 6:
    Reject was offered before anyone had looked). Raises otherwise."""
    if action in ("return", "reject") and request.status in UNDER_REVIEW:
        unseen = [f.name for f in request.files if not any(v.reviewer == actor.id for v in current_votes(f))]
        if unseen:
            raise Conflict(f"vote on {', '.join(unseen)} first: a checker decides on a request once they have "
                           "reviewed each of its files", code="vote_first", details={"files": unseen})


def can_decide(actor: Actor, request: ReleaseRequest, action: str) -> bool:
    try:
        check_can_decide(actor, request, action)
    except Conflict:
        return False
    return True


def decide(session: Session, *, platform: Platform, actor: Actor, request: ReleaseRequest, action: str,
           comment: str = "") -> Release | None:
    """A checker's decision on the whole request: approve (then it is released), return or reject."""
    require_independent(actor, request)
    check_can_decide(actor, request, action)
    if action not in ("approve", "return", "reject"):
        raise InvalidInput("decide approve, return or reject", details={"field": "action"}, code="decision_unknown")
    if action != "approve" and not comment.strip():
        raise InvalidInput("say why (the researcher reads it)", details={"field": "comment"}, code="comment_required")
    ended = ended_permit(session, request.workspace) if action == "approve" else None
    if ended is not None:  # outputs of a project whose permit ended are not released (return or reject it)
        raise Conflict(f"{why_ended(ended)}: nothing more leaves {request.workspace.reference}; return or reject "
                       "the request",
                       code="permit_ended", details={"permit": ended.reference})
    if action == "approve" and request.status in UNDER_REVIEW:
        refused = [f.name for f in request.files if any(v.decision != "approve" for v in current_votes(f))]
        if refused:
            raise Conflict(f"{', '.join(refused)} did not get only approvals: return or reject the request",
                           code="not_approved", details={"files": refused})
    _move(session, actor=actor, request=request, action=action, details={"comment": comment.strip()} if comment else None)
    request.comment = comment.strip() or None
    release = None
    if action == "approve":
        release = _release(session, platform, request, approver=actor)
        _move(session, actor=SYSTEM, request=request, action="release",
              details={"release": release.reference, "record_sha256": release.record_sha256})
    _tell_requester(session, request)
    return release


def _tell_requester(session: Session, request: ReleaseRequest) -> None:
    """The researcher who asked learns the outcome by mail (issue 18, item 9), without the checkers'
    words: they may quote an output, and mail leaves the platform; they are on the request's page."""
    notices.tell(session, to=request.requested_by.removeprefix("user:"), kind=f"release_{request.status}",
                 path=f"/releases/{request.id}", reference=request.reference, title=request.title)


def _release(session: Session, platform: Platform, request: ReleaseRequest, *, approver: Actor) -> Release:
    """Copy the files out and write the signed record last (its presence marks a complete release);
    on any failure the folder goes."""
    release = Release(request_id=request.id, prefix="", record_sha256="", created_at=utcnow())
    session.add(release)
    session.flush()
    release.prefix = f"releases/{release.reference}"
    contents = {file.name: _reviewed_content(session, platform, file) for file in request.files}
    try:
        entries = [_copy_out(platform, release, file, contents[file.name]) for file in request.files]
        document = _record(request, release, approver, entries)
        text = document_file(document, sign_document(platform.signer, document)[1], platform.signer.public_pem())
        platform.store.put_bytes(f"{release.prefix}/{RECORD}", text.encode())
    except Exception:
        platform.store.delete_prefix(release.prefix)
        raise
    release.record_sha256 = hashlib.sha256(text.encode()).hexdigest()
    _keep_in_ledger(session, platform, release, request, contents)
    return release


def _reviewed_content(session: Session, platform: Platform, file: ReleaseFile) -> bytes:
    content = read_output(session, platform, file.output)
    if hashlib.sha256(content).hexdigest() != file.sha256:
        raise IntegrityError(f"{file.name} changed since it was reviewed", details={"file": file.name})
    return content


def _copy_out(platform: Platform, release: Release, file: ReleaseFile, content: bytes) -> dict:
    """The file as it leaves: a table written anew by the platform from what it parsed and checked
    (canonical.py), anything else as reviewed. The record keeps both hashes."""
    released = canonical(file.name, content)
    platform.store.put_bytes(f"{release.prefix}/{file.name}", released)
    return {"name": file.name, "sha256": hashlib.sha256(released).hexdigest(), "size": len(released),
            "reviewed_sha256": file.sha256, "description": file.description,
            "exception": file.exception, "checks": file.report, "provenance": file.output.provenance,
            "votes": [{"reviewer": v.reviewer, "decision": v.decision, "comment": v.comment,
                       "at": v.created_at.isoformat()} for v in current_votes(file)]}


def _record(request: ReleaseRequest, release: Release, approver: Actor, files: list[dict]) -> dict:
    ws = request.workspace
    return {"format": FORMAT, "release": release.reference, "request": request.reference, "title": request.title,
            "workspace": ws.reference, "project": ws.application.reference, "permit": ws.permit.reference,
            "requested_by": request.requested_by, "approved_by": approver.id,
            "released_at": release.created_at.isoformat(), "parameters": request.parameters,
            "approvals_required": request.approvals_required, "files": files}


def get_release(session: Session, release_id: int) -> Release:
    release = session.get(Release, release_id)
    if release is None:
        raise NotFound(f"no release {release_id}")
    return release


def release_of(session: Session, request: ReleaseRequest) -> Release | None:
    return session.execute(select(Release).where(Release.request_id == request.id)).scalar_one_or_none()


def download(session: Session, *, platform: Platform, actor: Actor, release: Release, name: str) -> bytes:
    """A released file (or the signed record), for the permit's persons only; audited."""
    request = release.request
    if actor.id.removeprefix("user:") not in members(request.workspace):
        raise Forbidden(f"only the persons of {request.workspace.permit.reference} download its releases")
    if release.revoked_at is not None:
        raise Conflict(f"{release.reference} was revoked: {release.revoked_reason}", code="release_revoked")
    if name != RECORD and name not in {f.name for f in request.files}:
        raise NotFound(f"{release.reference} has no file {name}")
    content = platform.store.get_bytes(f"{release.prefix}/{name}")
    record(session, actor=actor, action=AuditAction.RELEASE_DOWNLOAD, target=f"release:{release.reference}",
           details={"file": name, "sha256": hashlib.sha256(content).hexdigest()})
    return content


def revoke(session: Session, *, actor: Actor, release: Release, reason: str) -> None:
    """After release, a checker can withdraw it (a disclosure found later): downloads stop."""
    if not reason.strip():
        raise InvalidInput("say why the release is revoked", details={"field": "reason"}, code="reason_required")
    _move(session, actor=actor, request=release.request, action="revoke", details={"reason": reason.strip()})
    release.revoked_at, release.revoked_reason = utcnow(), reason.strip()

"""Jobs (SPE-10): a Python or SQL script run in the sandbox on the workspace's current extract.

On DuckDB the job reads the extract's encrypted files with the extract's key (bound read-only:
the key of this extract only, never the master key), decrypting as it reads; on Spark the
extract stays where it is and the job queries it through the engine gateway (gateway.py).
Every file the job writes is registered with its SHA-256 and provenance (job, script hash,
engine, snapshot, permit version, extract version) and stored sealed with the workspace's key."""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
import shutil
from contextlib import ExitStack
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from bastide.audit.actions import AuditAction
from bastide import queue, transitions
from bastide.audit.service import record
from bastide.db import utcnow
from bastide.errors import Conflict, DomainError, InvalidInput, NotFound
from bastide.config import bytes_of
from bastide.keys import service as key_service
from bastide.keys.sealed import get_sealed, put_sealed, put_sealed_file
from bastide.platform import Platform
from bastide.statemachine import SYSTEM, Actor
from bastide.workspaces import brought, job_sandbox, running
from bastide.workspaces.sandbox import Limits, host_uid, own
from bastide.workspaces.models import Extract, Job, Output, Workspace
from bastide.workspaces.engines import ExtractFiles, engines, extract_folder, sandbox_tables
from bastide.workspaces.gateway import Gateway
from bastide.workspaces.query import enter, extract_files
from bastide.workspaces.service import current_extract, engine_of, get_workspace, target
from bastide.workspaces.workflow import JOB_WORKFLOW

LOG = logging.getLogger(__name__)
KINDS = ("python", "sql")
MAX_SCRIPT = 1_000_000
def _script_of(kind: str, script: str, engine: str) -> str:
    if kind == "python":
        return script
    # SQL: the result goes to /out/result.csv, where any output goes
    if engine == "spark":  # one read-only query, run by the cluster through the gateway
        run = f"import duckdb\nduckdb.from_arrow(workspace.sql({script!r})).write_csv('/out/result.csv')\n"
    else:
        run = f"workspace.duckdb().sql({script!r}).write_csv('/out/result.csv')\n"
    return "from bastide import workspace\n" + run + "print(open('/out/result.csv').read()[:2000])\n"


def move(session: Session, *, job: Job, action: str, actor: Actor = SYSTEM, details: dict | None = None) -> None:
    details = {**({"exit_code": job.exit_code} if job.exit_code is not None else {}), **(details or {})}
    transitions.apply(session, JOB_WORKFLOW, job, action=action, actor=actor, target=f"job:{job.reference}",
                      details=details or None)


def get_job(session: Session, job_id: int) -> Job:
    job = session.get(Job, job_id)
    if job is None:
        raise NotFound(f"no job {job_id}")
    return job


def list_jobs(session: Session, ws: Workspace) -> list[Job]:
    return list(session.execute(select(Job).where(Job.workspace_id == ws.id).order_by(Job.id.desc())).scalars())


def list_outputs(session: Session, ws: Workspace) -> list[Output]:
    return list(session.execute(select(Output).where(Output.workspace_id == ws.id).order_by(Output.id)).scalars())


def submit(platform: Platform, *, actor: Actor, ws_id: int, name: str, kind: str, script: str) -> int:
    if kind not in KINDS or not script.strip() or len(script) > MAX_SCRIPT:
        raise InvalidInput(f"a job is a python or sql script of at most {MAX_SCRIPT:,} characters",
                           details={"field": "script" if kind in KINDS else "kind", "max": MAX_SCRIPT},
                           code="script_invalid")
    with platform.db.unit_of_work() as session:
        ws = get_workspace(session, ws_id)
        error = enter(session, actor=actor, ws=ws)
        if error is None:
            job = Job(workspace_id=ws.id, extract_id=current_extract(session, ws).id, submitted_by=actor.id,
                      name=name.strip() or "job", kind=kind, script=script,
                      script_sha256=hashlib.sha256(script.encode()).hexdigest(), status=JOB_WORKFLOW.initial,
                      created_at=utcnow())
            session.add(job)
            session.flush()
            record(session, actor=actor, action=AuditAction.JOB_SUBMIT, target=f"job:{job.reference}",
                   details={"workspace": ws.reference, "kind": kind, "script_sha256": job.script_sha256})
            job_id = job.id
    if error is not None:
        raise error
    return job_id  # queued: a worker takes it (bastide.worker)


def claim(session: Session, *, by: str, job_id: int | None = None) -> Job | None:
    """Take the oldest queued job (that one, with `job_id`) for the process `by` and start it;
    None when no job waits. Two processes never take the same job (bastide.queue)."""
    job = queue.take(session, Job, waiting=(Job.status == "queued",), by=by, row_id=job_id)
    if job is not None:
        job.started_at = utcnow()
        move(session, job=job, action="start", details={"worker": by})
    return job


def run(platform: Platform, *, job_id: int, by: str | None = None) -> Job:
    """Take the queued job `job_id` and run it to its end in this process (what a worker does
    with the job it takes; the command line and tests run one this way)."""
    with platform.db.unit_of_work() as session:
        taken = claim(session, by=by or queue.process_name(), job_id=job_id) is not None
    if not taken:
        raise Conflict(f"JOB-{job_id:06d} is not waiting: another process runs it, or it has ended",
                       code="job_taken")
    return execute(platform, job_id=job_id)


def execute(platform: Platform, *, job_id: int) -> Job:
    """Run a job this process has claimed to its end; returns it with its status, exit code and
    log. When the platform fails it (no sandbox, the store unreachable…) the job ends `failed`
    saying why, instead of staying `running` for ever."""
    platform.liveness.hold(Job, job_id)
    try:
        return _run(platform, job_id)
    except Exception as exc:  # noqa: BLE001 - the job's own failures are outcomes, not exceptions
        return _failed(platform, job_id, exc)
    finally:
        platform.liveness.release(Job, job_id)


def _failed(platform: Platform, job_id: int, exc: Exception) -> Job:
    if isinstance(exc, DomainError):
        message = exc.message
    else:  # its text may hold paths or addresses: for the operators' log, not the researcher's
        LOG.error("job %s: the platform could not run it", job_id, exc_info=exc)
        message = f"the platform could not run it ({type(exc).__name__}); its operators have the details"
    with platform.db.unit_of_work() as session:
        job = get_job(session, job_id)
        if job.status not in ("queued", "running"):  # cancelled, or already ended: not ours to change
            raise exc
        job.log, job.finished_at = (job.log or "") + f"[not run to its end: {message}]\n", utcnow()
        move(session, job=job, action="fail")
        return job


STOPPED = {"time": "[stopped after {seconds} s]", "log": "[stopped: it printed more than {log}]",
           "outputs": "[stopped: its outputs passed {outputs} or {files:,} files; nothing of it was kept]"}
OUTPUT_FILES = 10_000
LOG_OUTPUT = "job.log"


def _limits(settings) -> tuple[Limits, job_sandbox.JobLimits]:
    box = Limits(memory=bytes_of(settings.job_memory_limit), processes=settings.sandbox_processes,
                 file_size=bytes_of(settings.job_output_file_size), tmp=bytes_of(settings.sandbox_tmp_size),
                 cpu_seconds=settings.job_seconds * max(settings.duckdb_threads, 1))
    job = job_sandbox.JobLimits(seconds=settings.job_seconds, log_bytes=bytes_of(settings.job_log_size),
                                output_bytes=bytes_of(settings.job_outputs_size), output_files=OUTPUT_FILES)
    return box, job


def _run(platform: Platform, job_id: int) -> Job:
    settings = platform.settings
    scratch = own(settings.resolved_work_dir / "jobs" / f"job-{job_id}-{secrets.token_hex(4)}", None)
    try:
        with ExitStack() as stack:
            with platform.db.unit_of_work() as session:
                job = get_job(session, job_id)
                ws = get_workspace(session, job.workspace_id)
                uid = host_uid(settings.sandbox_uid_base, ws.id)
                space = _stage(session, platform, job, ws, scratch, stack, uid)
                ws_id, origin = ws.id, {"job": job.reference, "script_sha256": job.script_sha256,
                                        "engine": engine_of(ws.permit, settings)}
            limits, job_limits = _limits(settings)
            outcome = job_sandbox.run(space, uid=uid, limits=limits, job=job_limits, log=scratch / LOG_OUTPUT,
                                      started=lambda p: running.add(job_id, ws_id, p))
        locked = running.remove(job_id)
        return _finish(platform, job_id, outcome, locked, space.out, origin)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _finish(platform: Platform, job_id: int, outcome: job_sandbox.Outcome, locked: bool, out: Path,
            origin: dict) -> Job:
    """The job's end recorded: its log (shown capped, kept whole as an output when longer), its
    outputs registered, its state."""
    settings = platform.settings
    with platform.db.unit_of_work() as session:
        job = get_job(session, job_id)
        job.exit_code, job.finished_at = outcome.exit_code, utcnow()
        shown, whole = _shown_log(outcome.log, bytes_of(settings.job_log_shown))
        notes = [STOPPED[outcome.stopped].format(seconds=settings.job_seconds, log=settings.job_log_size,
                                                 outputs=settings.job_outputs_size, files=OUTPUT_FILES)] \
            if outcome.stopped else []
        notes += ["[stopped: the workspace was locked]"] if locked else []
        if not whole:
            notes.append(f"[the log is longer than {settings.job_log_shown}: it is kept whole as the output "
                         f"{job.reference}/{LOG_OUTPUT}]")
        job.log = shown + "".join(f"\n{note}\n" for note in notes)
        if outcome.stopped or locked:
            move(session, job=job, action="kill")
            return job
        row = session.get(Extract, job.extract_id)
        for path in _produced(out):
            register_output_file(session, platform, row=row, name=str(path.relative_to(out)), local=path, job=job,
                                 origin=origin)
        if not whole:
            register_output_file(session, platform, row=row, name=LOG_OUTPUT, local=outcome.log, job=job,
                                 origin=origin, kind="logs")
        move(session, job=job, action="succeed" if outcome.exit_code == 0 else "fail")
        return job


def _shown_log(log: Path, limit: int) -> tuple[str, bool]:
    """The beginning of the log, at most `limit` bytes, and whether that is all of it."""
    with open(log, "rb") as fh:
        head = fh.read(limit + 1)
    return head[:limit].decode("utf-8", "replace"), len(head) <= limit


def _produced(out: Path) -> list[Path]:
    """The regular files a job left in /out (links, pipes and devices are not outputs)."""
    return sorted(p for p in out.rglob("*") if p.is_file() and not p.is_symlink())


def _stage(session: Session, platform: Platform, job: Job, ws: Workspace, scratch: Path, stack: ExitStack,
           uid: int | None) -> job_sandbox.JobSpace:
    """What the job reads, in place: the approved imports, and its extract — on DuckDB the
    encrypted files and their key (the job decrypts as it reads: nothing of the extract is in clear
    on the platform's disk), on Spark a gateway to the workspace's engine, open until `stack` closes."""
    row = session.get(Extract, job.extract_id)
    files = extract_files(ws, row, platform.settings)
    data = scratch / "data"
    _write_imports(session, platform, ws.id, data / "imports")
    script = _script_of(job.kind, job.script, files.engine).encode()
    out = own(scratch / "out", uid)
    if files.engine == "spark":  # the extract stays where it is: too large to copy, and Spark reads it there
        socket = stack.enter_context(_gateway(platform, job, ws, files, uid)).path
        return job_sandbox.JobSpace(data=data, out=out, script=script, engine_socket=socket)
    key = key_service.unwrap_key(session, keys=platform.keys, key_id=files.key_id)
    spec = json.dumps({"root": job_sandbox.EXTRACT, "tables": sandbox_tables(files),
                       "keys": {files.key_id: key.hex()}}).encode()
    return job_sandbox.JobSpace(data=data, out=out, script=script, extract_spec=spec,
                                extract=extract_folder(platform, files, scratch / "extract"))


def _gateway(platform: Platform, job: Job, ws: Workspace, files: ExtractFiles, uid: int | None) -> Gateway:
    """The job's way to its extract on Spark: the workspace's engine, its queries audited."""
    settings, submitter, where, reference = platform.settings, Actor(job.submitted_by), target(ws), job.reference

    def audit(event: dict) -> None:
        with platform.db.unit_of_work() as session:
            record(session, actor=submitter, action=AuditAction.WORKSPACE_QUERY, target=where,
                   details={**event, "job": reference})

    def ask(sql: str, rows: int):
        return engines(platform).engine(files).answer(sql, rows=rows, max_bytes=bytes_of(settings.job_result_size),
                                                      seconds=settings.job_seconds)

    return Gateway(ask=ask, tables=sorted(files.tables), cap=settings.job_result_rows, audit=audit, owner=uid)


def _write_imports(session: Session, platform: Platform, ws_id: int, folder: Path) -> None:
    """The files the airlock handed over (SPE-09), read-only beside the extract at /data/imports."""
    folder.mkdir(parents=True)
    for name, content in brought.files(session, platform=platform, ws_id=ws_id).items():
        (folder / name).write_bytes(content)


def _output_key(ws: Workspace, job: Job | None, name: str, kind: str = "outputs") -> str:
    return f"workspaces/{ws.reference}/{kind}/{job.reference if job else 'queries'}/{name}"


def register_output_file(session: Session, platform: Platform, *, row: Extract, name: str, local: Path,
                         origin: dict, job: Job | None = None, kind: str = "outputs") -> Output:
    """Seal an output from disk into the store a chunk at a time and record it with its provenance
    (`kind` logs: the job's whole log, stored apart so that no file of the job's can replace it)."""
    ws = get_workspace(session, row.workspace_id)
    key_id = ws.files_key_id or row.key_id  # workspaces made before files keys: the extract's
    store_key = _output_key(ws, job, name, kind)
    sealed = put_sealed_file(session, store=platform.store, keys=platform.keys, key_id=key_id, where=store_key,
                             local=local)
    return _record_output(session, ws, row, name, store_key, key_id, sealed, origin, job)


def register_output(session: Session, platform: Platform, *, row: Extract, name: str, content: bytes,
                    origin: dict, job: Job | None = None) -> Output:
    """Store a (small) output sealed with the workspace's files key and record it with its provenance."""
    ws = get_workspace(session, row.workspace_id)
    key_id = ws.files_key_id or row.key_id
    store_key = _output_key(ws, job, name)
    sealed = put_sealed(session, store=platform.store, keys=platform.keys, key_id=key_id, where=store_key,
                        content=content)
    return _record_output(session, ws, row, name, store_key, key_id, sealed, origin, job)


def _record_output(session: Session, ws: Workspace, row: Extract, name: str, store_key: str, key_id: str,
                   sealed, origin: dict, job: Job | None) -> Output:
    output = Output(workspace_id=ws.id, job_id=job.id if job else None, name=name, key=store_key, key_id=key_id,
                    sha256=sealed.sha256, size=sealed.size, created_at=utcnow(),
                    provenance={**origin, "snapshot": row.spec["snapshot"], "merkle_root": row.spec["merkle_root"],
                                "permit": row.spec["permit"], "extract": row.version})
    session.add(output)
    session.flush()
    record(session, actor=SYSTEM, action=AuditAction.OUTPUT_REGISTER, target=f"output:{output.id}",
           details={"name": name, "sha256": output.sha256, "size": output.size, **origin})
    return output


def read_output(session: Session, platform: Platform, output: Output) -> bytes:
    return get_sealed(session, store=platform.store, keys=platform.keys, key_id=output.key_id, where=output.key)

"""Jobs (SPE-10): a Python or SQL script run in the sandbox on the workspace's current extract.

On DuckDB the extract is decrypted into the job's scratch folder for the run only
(BASTIDE_WORK_DIR: on an encrypted volume in production, as for ingest) and deleted after; on
Spark it stays where it is and the job queries it through the engine gateway (gateway.py).
Every file the job writes is registered with its SHA-256 and provenance (job, script hash,
engine, snapshot, permit version, extract version) and stored sealed with the workspace's key."""

from __future__ import annotations

import hashlib
import logging
import secrets
import shutil
from contextlib import ExitStack
from pathlib import Path

import pyarrow.parquet as pq
from sqlalchemy import select
from sqlalchemy.orm import Session

from bastide.audit.actions import AuditAction
from bastide import transitions
from bastide.audit.service import record
from bastide.db import utcnow
from bastide.errors import DomainError, InvalidInput, NotFound
from bastide.keys.sealed import get_sealed, put_sealed
from bastide.platform import Platform
from bastide.statemachine import SYSTEM, Actor
from bastide.workspaces import running, sandbox
from bastide.workspaces.models import Extract, Job, Output, Workspace
from bastide.workspaces.engine import sealed_engine
from bastide.workspaces.gateway import Gateway
from bastide.workspaces.query import enter, extract_tables
from bastide.workspaces.service import current_extract, engine_of, get_workspace, target
from bastide.workspaces.workflow import JOB_WORKFLOW

LOG = logging.getLogger(__name__)
KINDS = ("python", "sql")
MAX_SCRIPT = 1_000_000
UNITS = {"KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12}


def size_in_bytes(text: str) -> int:
    number, unit = text.strip()[:-2], text.strip()[-2:].upper()
    return int(float(number) * UNITS[unit]) if unit in UNITS else int(text)


def _script_of(kind: str, script: str, engine: str) -> str:
    if kind == "python":
        return script
    # SQL: the result goes to /out/result.csv, where any output goes
    if engine == "spark":  # one read-only query, run by the cluster through the gateway
        run = f"import duckdb\nduckdb.from_arrow(workspace.sql({script!r})).write_csv('/out/result.csv')\n"
    else:
        run = f"workspace.duckdb().sql({script!r}).write_csv('/out/result.csv')\n"
    return "from bastide import workspace\n" + run + "print(open('/out/result.csv').read()[:2000])\n"


def move(session: Session, *, job: Job, action: str, actor: Actor = SYSTEM) -> None:
    transitions.apply(session, JOB_WORKFLOW, job, action=action, actor=actor, target=f"job:{job.reference}",
                      details={"exit_code": job.exit_code} if job.exit_code is not None else None)


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
                           details={"field": "script" if kind in KINDS else "kind"})
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
    platform.liveness.hold(Job, job_id)  # it waits for a thread of this process: stamped until it ends
    return job_id


def run(platform: Platform, *, job_id: int) -> Job:
    """Run a queued job to its end; returns it with its status, exit code and log. When the
    platform fails it (no sandbox, the store unreachable…) the job ends `failed` saying why,
    instead of staying `running` for ever."""
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


def _run(platform: Platform, job_id: int) -> Job:
    settings = platform.settings
    scratch = settings.resolved_work_dir / "jobs" / f"job-{job_id}-{secrets.token_hex(4)}"
    data, out = scratch / "data", scratch / "out"
    data.mkdir(parents=True)
    out.mkdir()
    out.chmod(0o777)  # written by the sandbox's unprivileged uid
    try:
        with ExitStack() as stack:
            with platform.db.unit_of_work() as session:
                job = get_job(session, job_id)
                job.started_at = utcnow()
                move(session, job=job, action="start")
                ws = get_workspace(session, job.workspace_id)
                engine = engine_of(ws.permit, settings)
                socket = _stage(session, platform, job, ws, engine, data, stack)
                script = scratch / "script.py"
                script.write_text(_script_of(job.kind, job.script, engine))
                ws_id, origin = ws.id, {"job": job.reference, "script_sha256": job.script_sha256, "engine": engine}
            outcome = sandbox.run(data=data, out=out, script=script, memory_bytes=size_in_bytes(settings.job_memory_limit),
                                  seconds=settings.job_seconds, started=lambda p: running.add(job_id, ws_id, p),
                                  engine_socket=socket)
        locked = running.remove(job_id)
        with platform.db.unit_of_work() as session:
            job = get_job(session, job_id)
            job.exit_code, job.finished_at = outcome.exit_code, utcnow()
            job.log = outcome.log + (f"\n[stopped after {settings.job_seconds} s]\n" if outcome.timed_out else "") + \
                ("\n[stopped: the workspace was locked]\n" if locked else "")
            if outcome.timed_out or locked:
                move(session, job=job, action="kill")
            else:
                _register_outputs(session, platform, job, out, origin)
                move(session, job=job, action="succeed" if outcome.exit_code == 0 else "fail")
            return job
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _stage(session: Session, platform: Platform, job: Job, ws: Workspace, engine: str, data: Path,
           stack: ExitStack) -> Path | None:
    """What the job reads, in place: the approved imports, and the extract decrypted into `data`
    (DuckDB) or, on Spark, a gateway to it whose socket is returned (open until `stack` closes)."""
    tables = extract_tables(session, platform, session.get(Extract, job.extract_id))
    _write_imports(session, platform, ws.id, data / "imports")
    if engine == "spark":  # the extract stays where it is: too large to copy, and Spark reads it there
        return stack.enter_context(_gateway(platform, job, ws, tables)).path
    for name, source in tables.items():
        pq.write_table(source.dataset.to_table(), data / f"{name}.parquet")
    return None


def _gateway(platform: Platform, job: Job, ws: Workspace, tables: dict) -> Gateway:
    """The job's way to its extract on Spark: a session of its own, sealed, its queries audited."""
    settings, submitter, where, reference = platform.settings, Actor(job.submitted_by), target(ws), job.reference

    def audit(event: dict) -> None:
        with platform.db.unit_of_work() as session:
            record(session, actor=submitter, action=AuditAction.WORKSPACE_QUERY, target=where,
                   details={**event, "job": reference})

    return Gateway(open_engine=lambda: sealed_engine(settings, "spark"), tables=tables, cap=settings.job_result_rows,
                   seconds=settings.job_seconds, audit=audit)


def _write_imports(session: Session, platform: Platform, ws_id: int, folder: Path) -> None:
    """The approved imports (SPE-09), read-only beside the extract at /data/imports."""
    from bastide.airlock import imports  # the airlock builds on workspaces: imported here, not at the top

    folder.mkdir()
    for name, content in imports.approved(session, platform=platform, ws_id=ws_id).items():
        (folder / name).write_bytes(content)


def _register_outputs(session: Session, platform: Platform, job: Job, out: Path, origin: dict) -> None:
    row = session.get(Extract, job.extract_id)
    for path in sorted(p for p in out.rglob("*") if p.is_file() and not p.is_symlink()):
        register_output(session, platform, row=row, name=str(path.relative_to(out)), content=path.read_bytes(),
                        job=job, origin=origin)


def register_output(session: Session, platform: Platform, *, row: Extract, name: str, content: bytes,
                    origin: dict, job: Job | None = None) -> Output:
    """Store an output sealed with the workspace's files key and record it with its provenance."""
    ws = get_workspace(session, row.workspace_id)
    key_id = ws.files_key_id or row.key_id  # workspaces made before files keys: the extract's
    folder = job.reference if job else "queries"
    store_key = f"workspaces/{ws.reference}/outputs/{folder}/{name}"
    put_sealed(session, store=platform.store, keys=platform.keys, key_id=key_id, where=store_key, content=content)
    output = Output(workspace_id=ws.id, job_id=job.id if job else None, name=name, key=store_key, key_id=key_id,
                    sha256=hashlib.sha256(content).hexdigest(), size=len(content), created_at=utcnow(),
                    provenance={**origin, "snapshot": row.spec["snapshot"], "merkle_root": row.spec["merkle_root"],
                                "permit": row.spec["permit"], "extract": row.version})
    session.add(output)
    session.flush()
    record(session, actor=SYSTEM, action=AuditAction.OUTPUT_REGISTER, target=f"output:{output.id}",
           details={"name": name, "sha256": output.sha256, "size": output.size, **origin})
    return output


def read_output(session: Session, platform: Platform, output: Output) -> bytes:
    return get_sealed(session, store=platform.store, keys=platform.keys, key_id=output.key_id, where=output.key)

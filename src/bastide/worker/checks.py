"""The scheduled checks a worker runs.

`scheduled` is the platform's (GOV-11, GOV-15, SPE-02, SPE-11, RES-*): permits past their end
date expire, the workspaces of revoked or expired permits lock, locked ones past retention are
shredded, the audit chain is signed, the builds of newly active permits are queued, and what
ended processes left is ended (bastide.recovery) — one process at a time, under a lease, since
two would record the same expiry twice. `tidy` is each process's own: the jobs it runs in
workspaces now locked stop (whichever process locked them), its idle engines stop and the scratch
folders of ended jobs on its node go."""

from __future__ import annotations

import logging

from bastide import recovery
from bastide.audit import checkpoints
from bastide.governance import permits
from bastide.platform import Platform
from bastide.workspaces import engines
from bastide.workspaces import service as workspaces

LOG = logging.getLogger(__name__)


def scheduled(platform: Platform) -> int:
    """The platform's checks, once; how many permits expired."""
    with platform.db.unit_of_work() as session:
        expired = len(permits.expire_due(session))
    with platform.db.unit_of_work() as session:
        workspaces.lock_ended(session)
    with platform.db.unit_of_work() as session:
        workspaces.shred_due(session, platform=platform, retention_days=platform.settings.workspace_retention_days)
    with platform.db.unit_of_work() as session:  # the chain signed, to be held outside (audit/checkpoints.py)
        if checkpoints.due(session, every_events=platform.settings.audit_checkpoint_events,
                           every_seconds=platform.settings.audit_checkpoint_seconds):
            checkpoints.checkpoint(session, signer=platform.signer)
    with platform.db.unit_of_work() as session:  # SPE-02: a newly active permit gets its workspace
        workspaces.provision_pending(session, keys=platform.keys)
    recovered = recovery.recover(platform)  # last: a store that fails it must not hold back the locks
    if recovered:
        LOG.warning("ended what stopped processes left: %s", recovered)
    return expired


def tidy(platform: Platform) -> None:
    """This process's own checks (every process that runs jobs or engines runs them)."""
    with platform.db.unit_of_work() as session:
        workspaces.stop_jobs_of_locked(session)  # GOV-15: the lock may be another process's
    engines.stop_unused(platform)  # locked, replaced or idle: their keys leave memory with them
    with platform.db.unit_of_work() as session:
        recovery.clear_scratch(session, platform.settings.resolved_work_dir)

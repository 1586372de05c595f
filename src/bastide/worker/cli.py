"""`bastide worker`: run builds, jobs and the scheduled checks; `bastide workers`: who runs them."""

from __future__ import annotations

import logging
import os
import signal
import threading
from typing import Annotated

import typer
from rich.table import Table

from bastide.cli.common import console, err, lazy_module, platform_session

service = lazy_module("bastide.worker.service")


def worker(
    slots: Annotated[int | None, typer.Option(min=1, help="Builds and jobs run at once (default: "
                                               "BASTIDE_WORKER_SLOTS).")] = None,
    once: Annotated[bool, typer.Option("--once", help="Run the scheduled checks and every build and job waiting "
                                       "now, then exit (for a platform run from cron).")] = False,
    parent: Annotated[int | None, typer.Option(hidden=True, help="Stop when this process ends (`bastide up`'s "
                                               "worker: it never outlives the server).")] = None,
) -> None:
    """Take provisioning builds and jobs from the queue and run the scheduled checks (expiry, locks,
    shredding, recovery), until stopped. Run as many as you like, on any nodes sharing the database
    and the store. The first SIGTERM or Ctrl-C lets what runs finish; a second stops at once (what
    was running is then ended by another worker's checks, saying why)."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    with platform_session() as platform:
        if once:
            done = service.drain(platform)
            console.print(f"ran {done.builds} build(s) and {done.jobs} job(s); mailed {done.notices} notice(s)")
            return
        running = service.Worker(platform, slots=slots or platform.settings.worker_slots)
        _stop_on_signals(running)
        if parent is not None:
            _stop_with(parent, running)
        console.print(f"worker {running.name}: {running.slots} slot(s), taking builds and jobs")
        running.run()
        console.print(f"worker {running.name} stopped")


def _stop_on_signals(running) -> None:
    def stop(signum, _frame):
        if running.stopping.is_set():  # the second: now
            raise SystemExit(128 + signum)
        err.print("stopping: finishing what runs (send the signal again to stop at once)")
        running.stopping.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)


def _stop_with(parent: int, running) -> None:
    """A server killed without a chance to stop its worker (SIGKILL, a crash) leaves it orphaned:
    it notices its parent is gone and stops as if asked."""
    def watch() -> None:
        while not running.stopping.wait(1):
            if os.getppid() != parent:
                err.print(f"the process that started this worker ({parent}) is gone: stopping")
                running.stopping.set()

    threading.Thread(target=watch, name="bastide-worker-parent", daemon=True).start()


def workers() -> None:
    """The workers that have not stopped (alive: stamped lately) and the queue they share."""
    from bastide.db import utcnow

    with platform_session() as platform, platform.db.unit_of_work() as session:
        alive = {w.id for w in service.workers(session, alive_since=platform.liveness.stale_before(utcnow()))}
        table = Table("worker", "host", "pid", "slots", "started", "last stamp", "state")
        for w in service.workers(session):
            table.add_row(w.name, w.host, str(w.pid), str(w.slots), f"{w.started_at:%Y-%m-%d %H:%M:%S}",
                          f"{w.heartbeat_at:%H:%M:%S}" if w.heartbeat_at else "—",
                          "alive" if w.id in alive else "silent (ended without stopping)")
        queue = service.queue_of(session)
    console.print(table)
    console.print(f"builds: {queue.builds_waiting} waiting, {queue.builds_running} running; "
                  f"jobs: {queue.jobs_waiting} waiting, {queue.jobs_running} running; "
                  f"mail: {queue.notices_waiting} waiting")
    if queue.notices_given_up:
        err.print(f"[red]{queue.notices_given_up} notice(s) could not be mailed after every try: check "
                  "BASTIDE_MAIL_URL and the relay (`bastide audit list --action notice:give_up` names them), then "
                  "`bastide notices retry`[/]")
    if not alive and (queue.builds_waiting or queue.jobs_waiting or queue.notices_waiting):
        err.print("[yellow]no worker is alive: nothing waiting will run. Start one: `bastide worker`[/]")

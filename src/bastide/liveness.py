"""Which ingests, extract builds and jobs still have a process working on them.

Ingests, builds and jobs run outside any transaction, in the process that took them (a worker,
or the operator's CLI). If that process ends — a restart, a crash, `kill -9`, a node lost — its
snapshot would stay `staging`, its extract `building` and its workspace `provisioning` for ever
(no transition leaves them), its job `running`. So a process stamps the rows it holds every
`heartbeat_seconds`, from one thread, in short transactions of their own; the workers' scheduled
checks end the rows nobody has stamped for `STALE_BEATS` beats (`bastide.recovery`). A row is
held from the moment the process claims it (bastide.queue) until it is finished; a worker holds
its own row too, so that the operators see which workers are alive."""

from __future__ import annotations

import logging
import threading
from collections import defaultdict
from contextlib import contextmanager
from datetime import datetime, timedelta

from sqlalchemy import update

from bastide.db import Database, utcnow

LOG = logging.getLogger(__name__)
STALE_BEATS = 4  # a row is orphaned after this many beats without a stamp: slack for a slow database


class Liveness:
    def __init__(self, db: Database, seconds: int):
        self.db, self.seconds = db, seconds
        self._held: dict[type, set[int]] = defaultdict(set)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def stale_before(self, now: datetime | None = None) -> datetime:
        """Rows last stamped before this have no live process."""
        return (now or utcnow()) - timedelta(seconds=self.seconds * STALE_BEATS)

    def hold(self, model: type, row_id: int) -> None:
        with self._lock:
            self._held[model].add(row_id)
            if self._thread is None:
                self._thread = threading.Thread(target=self._beat, name="bastide-heartbeat", daemon=True)
                self._thread.start()
        self._stamp({model: {row_id}})  # at once: the row may have waited since it was created

    def release(self, model: type, row_id: int) -> None:
        with self._lock:
            self._held[model].discard(row_id)

    @contextmanager
    def holding(self, model: type, row_id: int):
        self.hold(model, row_id)
        try:
            yield
        finally:
            self.release(model, row_id)

    def held(self, model: type) -> set[int]:
        with self._lock:
            return set(self._held[model])

    def _beat(self) -> None:
        while not self._stop.wait(self.seconds):
            with self._lock:
                rows = {model: set(ids) for model, ids in self._held.items() if ids}
            self._stamp(rows)

    def _stamp(self, rows: dict[type, set[int]]) -> None:
        if not rows:
            return
        now = utcnow()
        try:
            with self.db.unit_of_work() as session:
                for model, ids in rows.items():
                    session.execute(update(model).where(model.id.in_(sorted(ids))).values(heartbeat_at=now))
        except Exception:  # noqa: BLE001 - a missed beat is retried at the next; only four missed ones tell
            LOG.exception("could not stamp the ingests, builds and jobs this process runs")

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

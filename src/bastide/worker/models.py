"""The worker processes and the leases they take (see bastide.worker.service)."""

from __future__ import annotations

from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from bastide.db import Base, UTCDateTime


class WorkerProcess(Base):
    """A `bastide worker` process, for the operators' view: alive while it stamps its row."""

    __tablename__ = "worker_process"
    __bookkeeping__ = frozenset({"heartbeat_at"})  # stamped while it runs (bastide.liveness)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), nullable=False, unique=True)  # host:pid:random, in claimed_by
    host: Mapped[str] = mapped_column(String(200), nullable=False)
    pid: Mapped[int] = mapped_column(Integer, nullable=False)
    slots: Mapped[int] = mapped_column(Integer, nullable=False)  # builds and jobs it runs at once
    started_at = mapped_column(UTCDateTime(), nullable=False)
    heartbeat_at = mapped_column(UTCDateTime(), nullable=True)
    stopped_at = mapped_column(UTCDateTime(), nullable=True)  # it stopped cleanly (a crash leaves it empty)


class Lease(Base):
    """Work that one process at a time does (the scheduled checks): held until `expires_at`, renewed
    by its holder; another process takes it once it has expired."""

    __tablename__ = "lease"
    __bookkeeping__ = frozenset({"expires_at"})  # renewed every round: not an action

    name: Mapped[str] = mapped_column(String(50), primary_key=True)
    holder: Mapped[str] = mapped_column(String(200), nullable=False)
    expires_at = mapped_column(UTCDateTime(), nullable=False)

"""Workspaces (secure processing environments, EHDS Art. 73) and their extract versions."""

from __future__ import annotations

from sqlalchemy import JSON, BigInteger, Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from bastide.db import Base, UTCDateTime
from bastide.governance.models import Application, Permit


class Workspace(Base):
    """One per project (the application's lineage of permits): its pseudonym key lives as long
    as the project, so amendments keep the same pseudonyms."""

    __tablename__ = "workspace"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("application.id"), unique=True, nullable=False)
    permit_id: Mapped[int] = mapped_column(ForeignKey("permit.id"), nullable=False)  # the version it serves
    status: Mapped[str] = mapped_column(String(20), nullable=False, index=True)  # see WORKSPACE_WORKFLOW
    pseudonym_key_id: Mapped[str] = mapped_column(ForeignKey("data_key.id"), nullable=False)
    # outputs and imports: sealed with a key of the workspace's, not of an extract version, so
    # that an amendment (which shreds the old extract) does not take the project's results with it
    files_key_id: Mapped[str | None] = mapped_column(ForeignKey("data_key.id"))
    status_reason: Mapped[str | None] = mapped_column(Text)
    created_at = mapped_column(UTCDateTime(), nullable=False)
    updated_at = mapped_column(UTCDateTime(), nullable=False)

    application: Mapped[Application] = relationship()
    permit: Mapped[Permit] = relationship()

    @property
    def reference(self) -> str:
        return f"WS-{self.id:06d}"


class Extract(Base):
    """One build of a workspace's data from its permit: its own data key, so an older version
    is shredded by destroying that key (KEY-06)."""

    __tablename__ = "extract"
    # a build's steps are shown and its process stamps it while alive (bastide.liveness): not audited, its outcome is
    __bookkeeping__ = frozenset({"progress", "heartbeat_at"})
    __table_args__ = (UniqueConstraint("workspace_id", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspace.id"), nullable=False, index=True)
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    permit_id: Mapped[int] = mapped_column(ForeignKey("permit.id"), nullable=False)
    status: Mapped[str] = mapped_column(String(20), nullable=False)  # building | ready | failed | shredded
    key_id: Mapped[str] = mapped_column(ForeignKey("data_key.id"), nullable=False)
    prefix: Mapped[str] = mapped_column(String(300), nullable=False)
    spec: Mapped[dict] = mapped_column(JSON, nullable=False)
    spec_sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    cohort: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    rows: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    tables: Mapped[dict] = mapped_column(JSON, nullable=False, default=dict)
    manifest_sha256: Mapped[str | None] = mapped_column(String(64))
    error: Mapped[str | None] = mapped_column(Text)
    progress: Mapped[str | None] = mapped_column(String(200))  # the build's current step, while it builds
    heartbeat_at = mapped_column(UTCDateTime(), nullable=True)  # last stamp of the process building it
    # the process building it (bastide.queue): none yet while the build waits for a worker
    claimed_by: Mapped[str | None] = mapped_column(String(200))
    created_at = mapped_column(UTCDateTime(), nullable=False)
    finished_at = mapped_column(UTCDateTime(), nullable=True)

    workspace: Mapped[Workspace] = relationship()


class Job(Base):
    """A script run in the sandbox on a workspace's extract (see JOB_WORKFLOW)."""

    __tablename__ = "job"
    __bookkeeping__ = frozenset({"heartbeat_at"})  # stamped by the process holding it (bastide.liveness)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspace.id"), nullable=False, index=True)
    extract_id: Mapped[int] = mapped_column(ForeignKey("extract.id"), nullable=False)
    submitted_by: Mapped[str] = mapped_column(String(200), nullable=False)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    kind: Mapped[str] = mapped_column(String(10), nullable=False)  # python | sql
    script: Mapped[str] = mapped_column(Text, nullable=False)
    script_sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    status: Mapped[str] = mapped_column(String(20), nullable=False, index=True)
    exit_code: Mapped[int | None] = mapped_column(Integer)
    log: Mapped[str] = mapped_column(Text, nullable=False, default="")
    created_at = mapped_column(UTCDateTime(), nullable=False)
    started_at = mapped_column(UTCDateTime(), nullable=True)
    finished_at = mapped_column(UTCDateTime(), nullable=True)
    heartbeat_at = mapped_column(UTCDateTime(), nullable=True)  # last stamp of the process holding it
    claimed_by: Mapped[str | None] = mapped_column(String(200))  # the process running it (bastide.queue)

    @property
    def reference(self) -> str:
        return f"JOB-{self.id:06d}"


class Output(Base):
    """A file a job wrote (or a saved query result), stored encrypted, with its provenance."""

    __tablename__ = "output"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspace.id"), nullable=False, index=True)
    job_id: Mapped[int | None] = mapped_column(ForeignKey("job.id"))
    name: Mapped[str] = mapped_column(String(300), nullable=False)
    key: Mapped[str] = mapped_column(String(500), nullable=False)  # in the store, AES-GCM sealed
    key_id: Mapped[str] = mapped_column(ForeignKey("data_key.id"), nullable=False)
    sha256: Mapped[str] = mapped_column(String(64), nullable=False)  # of the clear content
    size: Mapped[int] = mapped_column(BigInteger, nullable=False)
    provenance: Mapped[dict] = mapped_column(JSON, nullable=False)
    created_at = mapped_column(UTCDateTime(), nullable=False)


class ScreenView(Base):
    """Rows of microdata a person was shown in a workspace on a (UTC) day: a query answer is a
    screen view, not an export (EHDS Art. 73(1)(e)); past the daily quota only the airlock serves."""

    __tablename__ = "screen_view"
    __table_args__ = (UniqueConstraint("workspace_id", "person", "day"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspace.id"), nullable=False)
    person: Mapped[str] = mapped_column(String(320), nullable=False)  # the actor id
    day = mapped_column(Date, nullable=False)
    rows: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)


class SavedQuery(Base):
    """A query kept by name in a workspace (issue 18, item 8): the project's persons see each
    other's, each changes or forgets only their own. Text only: its results are run again."""

    __tablename__ = "saved_query"
    __table_args__ = (UniqueConstraint("workspace_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspace.id"), nullable=False, index=True)
    name: Mapped[str] = mapped_column(String(100), nullable=False)
    author: Mapped[str] = mapped_column(String(200), nullable=False)
    sql: Mapped[str] = mapped_column(Text, nullable=False)
    created_at = mapped_column(UTCDateTime(), nullable=False)
    updated_at = mapped_column(UTCDateTime(), nullable=False)


class BroughtFile(Base):
    """A file brought into the workspace (SPE-09): the airlock hands it over once a checker has
    approved it; the workspace keeps where it lies sealed and its hash, and jobs find it read-only.
    How it was checked is the airlock's business (issue 18, item 12: workspaces never import it)."""

    __tablename__ = "brought_file"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspace.id"), nullable=False, index=True)
    name: Mapped[str] = mapped_column(String(300), nullable=False)
    key: Mapped[str] = mapped_column(String(500), nullable=False)  # in the store, AES-GCM sealed
    key_id: Mapped[str] = mapped_column(ForeignKey("data_key.id"), nullable=False)
    sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    size: Mapped[int] = mapped_column(Integer, nullable=False)
    source: Mapped[str] = mapped_column(String(50), nullable=False)  # what handed it over (IMP-000012)
    created_at = mapped_column(UTCDateTime(), nullable=False)

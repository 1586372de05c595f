"""Release requests out of a workspace (SPE-07, SPE-08, AUD-09): the files asked for, each with
its description, its check report and the checkers' votes, and the signed release."""

from __future__ import annotations

from sqlalchemy import JSON, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from bastide.db import Base, UTCDateTime
from bastide.workspaces.models import Output, Workspace


class ReleaseRequest(Base):
    __tablename__ = "release_request"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspace.id"), nullable=False, index=True)
    status: Mapped[str] = mapped_column(String(30), nullable=False, index=True)  # see RELEASE_WORKFLOW
    requested_by: Mapped[str] = mapped_column(String(200), nullable=False)
    title: Mapped[str] = mapped_column(String(300), nullable=False)
    approvals_required: Mapped[int] = mapped_column(Integer, nullable=False)
    parameters: Mapped[dict] = mapped_column(JSON, nullable=False)  # the disclosure rules' parameters
    comment: Mapped[str | None] = mapped_column(Text)  # the last decision's words to the researcher
    created_at = mapped_column(UTCDateTime(), nullable=False)
    updated_at = mapped_column(UTCDateTime(), nullable=False)

    workspace: Mapped[Workspace] = relationship()
    files: Mapped[list[ReleaseFile]] = relationship(back_populates="request", order_by="ReleaseFile.id",
                                                    cascade="all, delete-orphan")
    comments: Mapped[list[ReleaseComment]] = relationship(order_by="ReleaseComment.id", cascade="all, delete-orphan")

    @property
    def reference(self) -> str:
        return f"REQ-{self.id:06d}"


class ReleaseComment(Base):
    """What the project's persons and the checkers say to each other about a request or one of its
    files (issue 18, item 7), kept with the round it was said in; never edited."""
    __tablename__ = "release_comment"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("release_request.id"), nullable=False, index=True)
    author: Mapped[str] = mapped_column(String(200), nullable=False)
    file: Mapped[str | None] = mapped_column(String(255))  # the file it is about, or None: the request
    round: Mapped[int] = mapped_column(Integer, nullable=False)
    body: Mapped[str] = mapped_column(Text, nullable=False)
    created_at = mapped_column(UTCDateTime(), nullable=False)


class ReleaseFile(Base):
    """One output asked for. Changing it (another output, another description) opens a new
    review round: votes of earlier rounds no longer count."""

    __tablename__ = "release_file"
    __table_args__ = (UniqueConstraint("request_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("release_request.id"), nullable=False, index=True)
    output_id: Mapped[int] = mapped_column(ForeignKey("output.id"), nullable=False)
    name: Mapped[str] = mapped_column(String(300), nullable=False)
    sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    description: Mapped[str] = mapped_column(Text, nullable=False)  # what it shows, the population, the method
    exception: Mapped[str | None] = mapped_column(Text)  # why a blocked finding should be released all the same
    report: Mapped[dict] = mapped_column(JSON, nullable=False)  # the checks' findings (airlock.check.Report)
    round: Mapped[int] = mapped_column(Integer, nullable=False, default=1)

    request: Mapped[ReleaseRequest] = relationship(back_populates="files")
    output: Mapped[Output] = relationship()
    votes: Mapped[list[ReleaseVote]] = relationship(back_populates="file", order_by="ReleaseVote.id",
                                                    cascade="all, delete-orphan")


class ReleaseVote(Base):
    __tablename__ = "release_vote"
    __table_args__ = (UniqueConstraint("file_id", "reviewer", "round"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    file_id: Mapped[int] = mapped_column(ForeignKey("release_file.id"), nullable=False, index=True)
    reviewer: Mapped[str] = mapped_column(String(200), nullable=False)
    round: Mapped[int] = mapped_column(Integer, nullable=False)
    decision: Mapped[str] = mapped_column(String(10), nullable=False)  # approve | reject | return
    comment: Mapped[str] = mapped_column(Text, nullable=False, default="")
    created_at = mapped_column(UTCDateTime(), nullable=False)

    file: Mapped[ReleaseFile] = relationship(back_populates="votes")


class Release(Base):
    """The files that left, under `releases/<reference>/` with their signed RELEASE.json."""

    __tablename__ = "release"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("release_request.id"), nullable=False, unique=True)
    prefix: Mapped[str] = mapped_column(String(300), nullable=False)
    record_sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    created_at = mapped_column(UTCDateTime(), nullable=False)
    revoked_at = mapped_column(UTCDateTime(), nullable=True)
    revoked_reason: Mapped[str | None] = mapped_column(Text)

    request: Mapped[ReleaseRequest] = relationship()

    @property
    def reference(self) -> str:
        return f"REL-{self.id:06d}"


class ReleasedTable(Base):
    """The ledger: what a released table showed, kept to catch differencing by later tables of
    the project or of the same permit holder's other projects (airlock/ledger.py)."""

    __tablename__ = "released_table"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    release_id: Mapped[int] = mapped_column(ForeignKey("release.id"), nullable=False, index=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspace.id"), nullable=False, index=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), nullable=False, index=True)
    file: Mapped[str] = mapped_column(String(300), nullable=False)
    dimensions: Mapped[list] = mapped_column(JSON, nullable=False)
    cells: Mapped[list] = mapped_column(JSON, nullable=False)  # [[dimension values], count or null if suppressed]
    created_at = mapped_column(UTCDateTime(), nullable=False)

    release: Mapped[Release] = relationship()


class ImportRequest(Base):
    """A file brought into a workspace (SPE-09): code, codelists, nomenclatures, public reference
    data. Checked (type, size, identifiers), approved by one independent checker, then readable
    by the workspace's jobs under /data/imports; sealed with the workspace's files key."""

    __tablename__ = "import_request"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspace.id"), nullable=False, index=True)
    status: Mapped[str] = mapped_column(String(20), nullable=False, index=True)  # see IMPORT_WORKFLOW
    requested_by: Mapped[str] = mapped_column(String(200), nullable=False)
    name: Mapped[str] = mapped_column(String(300), nullable=False)
    purpose: Mapped[str] = mapped_column(Text, nullable=False)
    sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    size: Mapped[int] = mapped_column(Integer, nullable=False)
    key: Mapped[str] = mapped_column(String(500), nullable=False)  # in the store, AES-GCM sealed
    key_id: Mapped[str] = mapped_column(ForeignKey("data_key.id"), nullable=False)
    report: Mapped[dict] = mapped_column(JSON, nullable=False)  # the identifier scan's findings
    reviewer: Mapped[str | None] = mapped_column(String(200))
    comment: Mapped[str | None] = mapped_column(Text)
    created_at = mapped_column(UTCDateTime(), nullable=False)
    decided_at = mapped_column(UTCDateTime(), nullable=True)

    workspace: Mapped[Workspace] = relationship()

    @property
    def reference(self) -> str:
        return f"IMP-{self.id:06d}"

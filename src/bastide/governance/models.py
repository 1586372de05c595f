"""Access applications (EHDS Art. 67(2)(a)–(k), French procedures)."""

from __future__ import annotations

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from bastide.db import Base, UTCDateTime
from bastide.identity.models import Organisation, User


class Application(Base):
    __tablename__ = "application"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    status: Mapped[str] = mapped_column(String(40), nullable=False, index=True)
    applicant_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), nullable=False)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), nullable=False)
    call_id: Mapped[int | None] = mapped_column(ForeignKey("call_for_projects.id"), index=True)
    procedure: Mapped[str] = mapped_column(String(30), nullable=False)  # GOV-23
    track: Mapped[str] = mapped_column(String(20), nullable=False, default="standard")  # deadline track (GOV-09)
    # Art. 67(2): one field per letter; `form` keeps them as data, since the EU template is not final (Art. 70)
    form: Mapped[dict] = mapped_column(JSON, nullable=False, default=dict)
    title: Mapped[str] = mapped_column(String(300), nullable=False)
    ethics_opinion: Mapped[dict | None] = mapped_column(JSON)  # CESREES: reference, date, outcome
    cnil_decision: Mapped[dict | None] = mapped_column(JSON)  # authorisation or MR declaration: reference, date
    assessment: Mapped[dict] = mapped_column(JSON, nullable=False, default=dict)  # Art. 68(1)(a)–(h) checklist
    decision: Mapped[str | None] = mapped_column(String(20))  # granted | refused
    justification: Mapped[str | None] = mapped_column(Text)
    submitted_at = mapped_column(UTCDateTime(), nullable=True)
    paused_at = mapped_column(UTCDateTime(), nullable=True)
    paused_seconds: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    extension_reason: Mapped[str | None] = mapped_column(Text)
    extended: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    decided_at = mapped_column(UTCDateTime(), nullable=True)
    created_at = mapped_column(UTCDateTime(), nullable=False)

    applicant: Mapped[User] = relationship()
    organisation: Mapped[Organisation] = relationship()

    @property
    def reference(self) -> str:
        return f"APP-{self.id:06d}"


class Permit(Base):
    """A data permit (EHDS Art. 68(10)): a canonical JSON document signed with Ed25519 (GOV-10)."""

    __tablename__ = "permit"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("application.id"), nullable=False)
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    status: Mapped[str] = mapped_column(String(20), nullable=False, index=True)  # see PERMIT_WORKFLOW
    supersedes_id: Mapped[int | None] = mapped_column(ForeignKey("permit.id"))  # the version it replaced
    extended: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)  # once only (Art. 68(12))
    optout_as_of = mapped_column(UTCDateTime(), nullable=False)  # opt-outs recorded by then are excluded (GOV-16)
    terms: Mapped[dict] = mapped_column(JSON, nullable=False, default=dict)  # the form as granted or amended
    status_reason: Mapped[str | None] = mapped_column(Text)  # why it was amended, extended or revoked
    ended_at = mapped_column(UTCDateTime(), nullable=True)  # superseded, revoked or expired at
    document: Mapped[str] = mapped_column(Text, nullable=False)  # the exact signed bytes, as text
    signature: Mapped[str] = mapped_column(String(200), nullable=False)  # base64 Ed25519
    valid_from = mapped_column(UTCDateTime(), nullable=False)
    valid_until = mapped_column(UTCDateTime(), nullable=False)
    created_at = mapped_column(UTCDateTime(), nullable=False)

    application: Mapped[Application] = relationship()

    @property
    def reference(self) -> str:
        return f"PRM-{self.id:06d}-v{self.version}"


class CallForProjects(Base):
    """A call for projects: applications answer it, reviewers score them on its criteria."""

    __tablename__ = "call_for_projects"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(String(300), nullable=False)
    theme: Mapped[str] = mapped_column(String(300), nullable=False)
    description: Mapped[str] = mapped_column(Text, nullable=False, default="")
    opens_on = mapped_column(Date(), nullable=False)
    closes_on = mapped_column(Date(), nullable=False)
    criteria: Mapped[list] = mapped_column(JSON, nullable=False)  # [{"name": ..., "weight": ...}]
    selected_at = mapped_column(UTCDateTime(), nullable=True)
    created_at = mapped_column(UTCDateTime(), nullable=False)


class Score(Base):
    """One reviewer's mark of one application on one criterion of its call (0–5)."""

    __tablename__ = "call_score"
    __table_args__ = (UniqueConstraint("application_id", "reviewer", "criterion"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("application.id"), nullable=False, index=True)
    reviewer: Mapped[str] = mapped_column(String(200), nullable=False)
    criterion: Mapped[str] = mapped_column(String(100), nullable=False)
    score: Mapped[int] = mapped_column(Integer, nullable=False)
    note: Mapped[str] = mapped_column(Text, nullable=False, default="")
    created_at = mapped_column(UTCDateTime(), nullable=False)


class OptOut(Base):
    """A person who objected to secondary use (EHDS Art. 71), by the base's pseudonym: never the NIR."""

    __tablename__ = "optout"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    pseudonym: Mapped[str] = mapped_column(String(100), unique=True, nullable=False)  # BEN_NIR_PSA
    recorded_at = mapped_column(UTCDateTime(), nullable=False)

"""Catalogue: datasets, their snapshots (immutable versions), tables and variables."""

from __future__ import annotations

from sqlalchemy import JSON, BigInteger, Boolean, ForeignKey, Integer, String, Text, UniqueConstraint, func, select
from sqlalchemy.orm import Mapped, column_property, mapped_column, relationship

from bastide.db import Base, UTCDateTime


class Dataset(Base):
    __tablename__ = "dataset"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True, nullable=False)
    title: Mapped[str] = mapped_column(String(300), nullable=False)
    description: Mapped[str] = mapped_column(Text, nullable=False, default="")
    schema_source: Mapped[str] = mapped_column(String(100), nullable=False)
    health_categories: Mapped[list] = mapped_column(JSON, nullable=False, default=list)
    keywords: Mapped[list] = mapped_column(JSON, nullable=False, default=list)
    created_at = mapped_column(UTCDateTime(), nullable=False)

    snapshots: Mapped[list[Snapshot]] = relationship(back_populates="dataset", order_by="Snapshot.id")


class Snapshot(Base):
    """One immutable version of a dataset: visible only once `published`."""

    __tablename__ = "snapshot"
    __bookkeeping__ = frozenset({"heartbeat_at"})  # stamped by the ingest's process (bastide.liveness)
    __table_args__ = (UniqueConstraint("dataset_id", "release"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("dataset.id"), nullable=False)
    release: Mapped[str] = mapped_column(String(50), nullable=False)
    status: Mapped[str] = mapped_column(String(20), nullable=False)
    key_id: Mapped[str] = mapped_column(ForeignKey("data_key.id"), nullable=False)
    prefix: Mapped[str] = mapped_column(String(300), nullable=False)
    merkle_root: Mapped[str | None] = mapped_column(String(64))
    manifest_sha256: Mapped[str | None] = mapped_column(String(64))
    rows: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    bytes: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    files: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    quarantined_rows: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    created_at = mapped_column(UTCDateTime(), nullable=False)
    published_at = mapped_column(UTCDateTime(), nullable=True)
    heartbeat_at = mapped_column(UTCDateTime(), nullable=True)  # last stamp of the process ingesting it

    dataset: Mapped[Dataset] = relationship(back_populates="snapshots")
    tables: Mapped[list[SnapshotTable]] = relationship(
        back_populates="snapshot", order_by="SnapshotTable.name", cascade="all, delete-orphan"
    )
    sources: Mapped[list[SnapshotSource]] = relationship(cascade="all, delete-orphan")

    @property
    def ref(self) -> str:
        return f"{self.dataset.name}@{self.release}"


class SnapshotTable(Base):
    __tablename__ = "snapshot_table"
    __table_args__ = (UniqueConstraint("snapshot_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    snapshot_id: Mapped[int] = mapped_column(ForeignKey("snapshot.id", ondelete="CASCADE"), nullable=False)
    name: Mapped[str] = mapped_column(String(100), nullable=False)
    title: Mapped[str] = mapped_column(String(300), nullable=False)
    product: Mapped[str] = mapped_column(String(100), nullable=False, default="")
    partitioning: Mapped[str | None] = mapped_column(String(20))
    primary_key: Mapped[list] = mapped_column(JSON, nullable=False, default=list)
    schema_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    rows: Mapped[int] = mapped_column(BigInteger, nullable=False)
    bytes: Mapped[int] = mapped_column(BigInteger, nullable=False)
    files: Mapped[int] = mapped_column(Integer, nullable=False)

    snapshot: Mapped[Snapshot] = relationship(back_populates="tables")
    variables: Mapped[list[Variable]] = relationship(
        back_populates="table", order_by="Variable.position", cascade="all, delete-orphan"
    )


# how many tables a snapshot holds, counted by the database: the catalogue's listing loaded every
# table row of every snapshot for this one number (a sixth of a loaded server's time, issue 16)
Snapshot.table_count = column_property(
    select(func.count(SnapshotTable.id)).where(SnapshotTable.snapshot_id == Snapshot.id)
    .correlate_except(SnapshotTable).scalar_subquery())


class Variable(Base):
    __tablename__ = "variable"
    __table_args__ = (UniqueConstraint("table_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    table_id: Mapped[int] = mapped_column(ForeignKey("snapshot_table.id", ondelete="CASCADE"), nullable=False)
    position: Mapped[int] = mapped_column(Integer, nullable=False)
    name: Mapped[str] = mapped_column(String(100), nullable=False)
    type: Mapped[str] = mapped_column(String(30), nullable=False)
    length: Mapped[str] = mapped_column(String(20), nullable=False, default="")
    description: Mapped[str] = mapped_column(Text, nullable=False, default="")
    nomenclature: Mapped[str] = mapped_column(String(100), nullable=False, default="")
    filled: Mapped[int | None] = mapped_column(BigInteger)  # rows with a value (completeness); None: not known
    # aggregates only (issue 18, item 1; base/profile.py): the codes of its nomenclature it uses, more than
    # counted when capped; a date's real values' span to the month, and the rows holding a « no date » placeholder
    codes_used: Mapped[int | None] = mapped_column(Integer)
    codes_capped: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    first_month: Mapped[str | None] = mapped_column(String(7))
    last_month: Mapped[str | None] = mapped_column(String(7))
    placeholder_dates: Mapped[int | None] = mapped_column(BigInteger)

    table: Mapped[SnapshotTable] = relationship(back_populates="variables")

    def values(self) -> dict:
        """What the dictionary says of its values, aggregates only (the base counted them:
        base/profile.py): the codes of its nomenclature it uses, a date's span to the month and how
        many rows hold a « no date » placeholder. Empty: not known (a release published before)."""
        shown = {}
        if self.codes_used is not None:
            shown |= {"codes": self.codes_used, "capped": self.codes_capped}
        if self.placeholder_dates is not None:
            shown |= {"first": self.first_month, "last": self.last_month, "placeholders": self.placeholder_dates}
        return shown


class SnapshotSource(Base):
    """What a delivered folder hashed to, so a later release can reuse unchanged files."""

    __tablename__ = "snapshot_source"
    __table_args__ = (UniqueConstraint("snapshot_id", "folder"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    snapshot_id: Mapped[int] = mapped_column(ForeignKey("snapshot.id", ondelete="CASCADE"), nullable=False)
    folder: Mapped[str] = mapped_column(String(100), nullable=False)
    table_name: Mapped[str] = mapped_column(String(100), nullable=False)
    digest: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
    rows: Mapped[int] = mapped_column(BigInteger, nullable=False)
    nulls: Mapped[dict | None] = mapped_column(JSON)  # empty values per column as written (reused with the folder)
    profile: Mapped[dict | None] = mapped_column(JSON)  # dates' spans and codes used, as written (base/profile.py)

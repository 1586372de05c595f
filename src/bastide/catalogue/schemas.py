"""API shapes of the catalogue (public metadata)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class SnapshotOut(BaseModel):
    ref: str
    release: str
    published_at: datetime
    rows: int
    bytes: int
    files: int
    tables: int
    merkle_root: str

    @classmethod
    def build(cls, s) -> SnapshotOut:
        return cls(ref=s.ref, release=s.release, published_at=s.published_at, rows=s.rows, bytes=s.bytes,
                   files=s.files, tables=s.table_count, merkle_root=s.merkle_root)


class DatasetOut(BaseModel):
    name: str
    title: str
    description: str
    schema_source: str
    snapshots: list[SnapshotOut]

    @classmethod
    def build(cls, d, snapshots) -> DatasetOut:
        return cls(name=d.name, title=d.title, description=d.description, schema_source=d.schema_source,
                   snapshots=[SnapshotOut.build(s) for s in snapshots])


class TableOut(BaseModel):
    name: str
    title: str
    product: str
    partitioning: str | None
    primary_key: list[str]
    rows: int
    bytes: int
    files: int


class SnapshotDetail(SnapshotOut):
    table_list: list[TableOut]

    @classmethod
    def build(cls, s) -> SnapshotDetail:
        base = SnapshotOut.build(s).model_dump()
        return cls(**base, table_list=[TableOut(name=t.name, title=t.title, product=t.product, partitioning=t.partitioning,
                                                primary_key=t.primary_key, rows=t.rows, bytes=t.bytes, files=t.files)
                                       for t in s.tables])


class VariableOut(BaseModel):
    position: int
    name: str
    type: str
    length: str
    nomenclature: str
    description: str
    filled: int | None = Field(None, description="Rows that give it a value (None: not known).")
    values: dict = Field(default_factory=dict, description="Aggregates only: `codes` of its nomenclature used "
                         "(`capped`: more than that), a date's `first` and `last` month and its « no date » "
                         "`placeholders`; empty when not known.")


class TableDetail(TableOut):
    variables: list[VariableOut]

    @classmethod
    def build(cls, t) -> TableDetail:
        return cls(name=t.name, title=t.title, product=t.product, partitioning=t.partitioning, primary_key=t.primary_key,
                   rows=t.rows, bytes=t.bytes, files=t.files,
                   variables=[VariableOut(position=v.position, name=v.name, type=v.type, length=v.length,
                                          nomenclature=v.nomenclature, description=v.description, filled=v.filled,
                                          values=v.values()) for v in t.variables])

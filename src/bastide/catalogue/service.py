"""Catalogue services: datasets and the snapshot lifecycle. Never commit; audit every write."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from bastide.audit.actions import AuditAction
from bastide.audit.service import record
from bastide.catalogue.models import Dataset, Snapshot, SnapshotSource, SnapshotTable, Variable
from bastide.catalogue.schemas import DatasetOut
from bastide.catalogue.vocabulary import check_health_categories
from bastide.catalogue.workflow import SNAPSHOT_WORKFLOW
from bastide.db import utcnow
from bastide.errors import Conflict, InvalidInput, NotFound
from bastide.keys.base import KeyManager
from bastide.keys.service import create_key
from bastide.statemachine import Actor
from bastide.transitions import apply

NAME = re.compile(r"^[a-z][a-z0-9_-]{0,62}$")
RELEASE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,49}$")


def parse_ref(ref: str) -> tuple[str, str]:
    name, sep, release = ref.partition("@")
    if not sep or not NAME.match(name) or not RELEASE.match(release):
        raise InvalidInput(f"{ref!r} is not a snapshot reference: write DATASET@RELEASE, e.g. snds@2024-12",
                           code="release_ref_format", details={"ref": ref})
    return name, release


def check_names(dataset: str, release: str) -> None:
    if not NAME.match(dataset):
        raise InvalidInput(f"dataset name {dataset!r}: use lower-case letters, digits, - and _ (e.g. snds)",
                           code="dataset_name_format", details={"name": dataset})
    if not RELEASE.match(release):
        raise InvalidInput(f"release {release!r}: use letters, digits, '.', '-' and '_' (e.g. 2024-12)",
                           code="release_format", details={"release": release})


def find_dataset(session: Session, name: str) -> Dataset | None:
    return session.execute(select(Dataset).where(Dataset.name == name)).scalar_one_or_none()


def get_dataset(session: Session, name: str) -> Dataset:
    dataset = find_dataset(session, name)
    if dataset is None:
        raise NotFound(f"no dataset named {name}", details={"dataset": name})
    return dataset


def list_datasets(session: Session) -> list[Dataset]:
    return list(session.execute(select(Dataset).order_by(Dataset.name)).scalars())


@dataclass(frozen=True)
class DatasetInfo:
    title: str
    description: str
    schema_source: str
    health_categories: list[str] = field(default_factory=list)
    keywords: list[str] = field(default_factory=list)


def ensure_dataset(session: Session, *, actor: Actor, name: str, info: DatasetInfo) -> Dataset:
    dataset = find_dataset(session, name)
    if dataset is not None:
        return dataset
    dataset = Dataset(
        name=name,
        title=info.title,
        description=info.description,
        schema_source=info.schema_source,
        health_categories=check_health_categories(info.health_categories),
        keywords=list(info.keywords),
        created_at=utcnow(),
    )
    session.add(dataset)
    session.flush()
    record(session, actor=actor, action=AuditAction.DATASET_CREATE, target=f"dataset:{name}", details={"title": info.title})
    return dataset


def public_datasets(session: Session) -> list[DatasetOut]:
    """The public catalogue: each dataset with its published releases (the API's list and the
    catalogue page show the same)."""
    return [DatasetOut.build(d, list_snapshots(session, d)) for d in list_datasets(session)]


def find_snapshot(session: Session, dataset: Dataset, release: str) -> Snapshot | None:
    return session.execute(
        select(Snapshot).where(Snapshot.dataset_id == dataset.id, Snapshot.release == release)
    ).scalar_one_or_none()


def get_snapshot(session: Session, ref: str) -> Snapshot:
    """A published snapshot; staging and rejected ones are invisible."""
    name, release = parse_ref(ref)
    dataset = get_dataset(session, name)
    snapshot = find_snapshot(session, dataset, release)
    if snapshot is None or snapshot.status != "published":
        raise NotFound(f"no published snapshot {ref}", details={"snapshot": ref})
    return snapshot


def list_snapshots(session: Session, dataset: Dataset) -> list[Snapshot]:
    return [s for s in dataset.snapshots if s.status == "published"]


def stage_snapshot(session: Session, *, actor: Actor, keys: KeyManager, dataset: Dataset, release: str) -> Snapshot:
    """Start (or cleanly restart) a snapshot; a published one is never touched."""
    snapshot = find_snapshot(session, dataset, release)
    target = f"snapshot:{dataset.name}@{release}"
    if snapshot is not None:
        if snapshot.status == "published":
            raise Conflict(f"snapshot {dataset.name}@{release} already exists: choose another --release",
                           details={"snapshot": f"{dataset.name}@{release}"}, code="snapshot_exists")
        apply(session, SNAPSHOT_WORKFLOW, snapshot, action="restart", actor=actor, target=target)
        snapshot.created_at, snapshot.heartbeat_at = utcnow(), None  # the crashed attempt's stamp is not this one's
        return snapshot
    key = create_key(session, keys=keys, actor=actor, purpose=f"snapshot {dataset.name}@{release}")
    snapshot = Snapshot(
        dataset=dataset, release=release, status=SNAPSHOT_WORKFLOW.initial, key_id=key.id,
        prefix=f"base/{dataset.name}/{release}", created_at=utcnow(),
    )
    session.add(snapshot)
    session.flush()
    record(session, actor=actor, action=AuditAction.SNAPSHOT_STAGE, target=target, details={"key": key.id})
    return snapshot


class ColumnShape(Protocol):
    name: str
    type: str
    length: str
    description: str
    nomenclature: str


class TableShape(Protocol):
    """What the catalogue records of a published table's schema: the base's TableSchema is one
    (the base publishes into the catalogue; the catalogue does not import the base)."""
    name: str
    title: str
    product: str
    partitioning: str | None
    primary_key: tuple[str, ...]
    schema_hash: str
    columns: tuple[ColumnShape, ...]


@dataclass(frozen=True)
class PublishedTable:
    schema: TableShape
    rows: int
    bytes: int
    files: int
    values: dict[str, dict] | None = None  # per column: dates' span and placeholders, codes used (None: not known)


@dataclass(frozen=True)
class PublishedSource:
    folder: str
    table: str
    digest: str
    rows: int
    nulls: dict[str, int] | None = None  # empty values per column as written (None: not known)
    profile: dict | None = None  # its dates' spans and codes used, kept for a release that reuses the folder


def publish_snapshot(
    session: Session, *, actor: Actor, snapshot: Snapshot, tables: list[PublishedTable],
    sources: list[PublishedSource], merkle_root: str, manifest_sha256: str, quarantined: int,
) -> Snapshot:
    rows, files = sum(t.rows for t in tables), sum(t.files for t in tables)
    apply(session, SNAPSHOT_WORKFLOW, snapshot, action="publish", actor=actor, target=f"snapshot:{snapshot.ref}",
          details={"rows": rows, "files": files, "merkle_root": merkle_root, "quarantined_rows": quarantined})
    snapshot.tables.clear()
    snapshot.sources.clear()
    session.flush()
    for item in tables:
        snapshot.tables.append(_table_row(item, [s for s in sources if s.table == item.schema.name]))
    for src in sources:
        snapshot.sources.append(SnapshotSource(folder=src.folder, table_name=src.table, digest=src.digest, rows=src.rows,
                                               nulls=src.nulls, profile=src.profile))
    snapshot.rows, snapshot.files, snapshot.bytes = rows, files, sum(t.bytes for t in tables)
    snapshot.merkle_root, snapshot.manifest_sha256 = merkle_root, manifest_sha256
    snapshot.quarantined_rows, snapshot.published_at = quarantined, utcnow()
    return snapshot


def _table_row(item: PublishedTable, sources: list[PublishedSource]) -> SnapshotTable:
    """The table and its variables, each with how many rows fill it (completeness), known when
    every folder of the table says so."""
    schema = item.schema
    known = bool(sources) and all(s.nulls is not None for s in sources)
    empty = {c.name: sum((s.nulls or {}).get(c.name, 0) for s in sources) for c in schema.columns}
    return SnapshotTable(
        name=schema.name, title=schema.title, product=schema.product, partitioning=schema.partitioning,
        primary_key=list(schema.primary_key), schema_hash=schema.schema_hash,
        rows=item.rows, bytes=item.bytes, files=item.files,
        variables=[
            Variable(position=i, name=c.name, type=c.type, length=c.length, description=c.description,
                     nomenclature=c.nomenclature, filled=item.rows - empty[c.name] if known else None,
                     **_values(item.values, c.name))
            for i, c in enumerate(schema.columns, start=1)
        ],
    )


def reject_snapshot(session: Session, *, actor: Actor, snapshot: Snapshot, reason: str, details: dict) -> Snapshot:
    apply(session, SNAPSHOT_WORKFLOW, snapshot, action="reject", actor=actor, target=f"snapshot:{snapshot.ref}",
          details={"reason": reason, **details})
    return snapshot


def find_reusable_source(session: Session, *, dataset: Dataset, digest: str) -> tuple[Snapshot, SnapshotSource] | None:
    """The newest published snapshot of `dataset` that already holds a folder with this content."""
    row = session.execute(
        select(Snapshot, SnapshotSource)
        .join(SnapshotSource, SnapshotSource.snapshot_id == Snapshot.id)
        .where(Snapshot.dataset_id == dataset.id, Snapshot.status == "published", SnapshotSource.digest == digest)
        .order_by(Snapshot.id.desc())
        .limit(1)
    ).first()
    return (row[0], row[1]) if row else None


def get_table(snapshot: Snapshot, name: str) -> SnapshotTable:
    for table in snapshot.tables:
        if table.name == name:
            return table
    raise NotFound(f"snapshot {snapshot.ref} has no table {name}", details={"table": name})


def _values(values: dict[str, dict] | None, column: str) -> dict:
    """A variable's published aggregates (the base counted them: base/profile.py)."""
    seen = (values or {}).get(column) or {}
    return {"codes_used": seen.get("codes"), "codes_capped": bool(seen.get("capped")),
            "first_month": seen.get("first"), "last_month": seen.get("last"),
            "placeholder_dates": seen.get("placeholders")}

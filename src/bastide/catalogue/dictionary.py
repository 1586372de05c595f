"""The data dictionary (issue 18, item 1): each published release's tables and variables, as the
catalogue recorded them at ingest (from the delivered schema), for researchers choosing what to
ask for before they apply. Public metadata only: names, types, descriptions, nomenclatures and
the counts the catalogue already publishes; never a value of the data."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from bastide.catalogue.models import Dataset, Snapshot, SnapshotTable, Variable
from bastide.catalogue.service import get_snapshot, get_table
from bastide.errors import InvalidInput

SEARCH_LIMIT = 200
MIN_SEARCH = 2  # characters: one letter would match most of the dictionary


@dataclass(frozen=True)
class Hit:
    ref: str  # the release, dataset@release
    table: str
    table_title: str
    variable: str | None  # None: the table itself matched
    description: str


def completeness(filled: int | None, rows: int) -> float | None:
    """The share of a table's rows that give the variable a value (None: not known, or no row).
    A count over the whole table: an aggregate no person can be told from."""
    return filled / rows if filled is not None and rows else None


def published(session: Session) -> list[Snapshot]:
    """Every published release, newest first within each dataset."""
    return list(session.execute(
        select(Snapshot).join(Dataset).where(Snapshot.status == "published")
        .order_by(Dataset.name, Snapshot.published_at.desc())).scalars())


def latest(session: Session) -> list[Snapshot]:
    """The newest published release of each dataset: what a search looks in."""
    seen, newest = set(), []
    for snapshot in published(session):
        if snapshot.dataset_id not in seen:
            seen.add(snapshot.dataset_id)
            newest.append(snapshot)
    return newest


def table(session: Session, ref: str, name: str) -> SnapshotTable:
    """A table of a published release: get_snapshot answers a staging or rejected one as it
    answers one that never was (the public learns nothing of it)."""
    return get_table(get_snapshot(session, ref), name)


def search(session: Session, text: str, *, limit: int = SEARCH_LIMIT) -> list[Hit]:
    """Tables whose name or title, and variables whose name or description, hold `text` (any case),
    in the newest release of each dataset; tables first."""
    text = text.strip()
    if len(text) < MIN_SEARCH:
        raise InvalidInput(f"search with {MIN_SEARCH} characters at least", details={"field": "q", "least": MIN_SEARCH},
                           code="search_too_short")
    like = f"%{_escaped(text.casefold())}%"
    snapshots = {s.id: s for s in latest(session)}
    if not snapshots:
        return []
    tables = session.execute(
        select(SnapshotTable).where(SnapshotTable.snapshot_id.in_(snapshots),
                                    or_(func.lower(SnapshotTable.name).like(like, escape="\\"),
                                        func.lower(SnapshotTable.title).like(like, escape="\\")))
        .order_by(SnapshotTable.name).limit(limit)).scalars().all()
    hits = [Hit(snapshots[t.snapshot_id].ref, t.name, t.title, None, t.title) for t in tables]
    variables = session.execute(
        select(Variable, SnapshotTable).join(SnapshotTable)
        .where(SnapshotTable.snapshot_id.in_(snapshots),
               or_(func.lower(Variable.name).like(like, escape="\\"),
                   func.lower(Variable.description).like(like, escape="\\")))
        .order_by(SnapshotTable.name, Variable.position).limit(limit - len(hits))).all()
    return hits + [Hit(snapshots[t.snapshot_id].ref, t.name, t.title, v.name, v.description) for v, t in variables]


def _escaped(text: str) -> str:
    """`%` and `_` are searched for as themselves (variable names are full of `_`)."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")

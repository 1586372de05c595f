"""The metadata database as one portable file: every table's rows read in one consistent
snapshot, written as gzipped JSON lines, loaded back into an empty database of either kind.

Logical rather than pg_dump or a copy of the SQLite file: the same file restores a PostgreSQL
deployment onto SQLite and back (migration between deployments), needs no server binaries of a
matching version, and anything that reads JSON can read it (reversibility, SOV-07). Rows keep
their ids, so the audit chain's hashes, the permits' signatures and every reference hold.
"""

from __future__ import annotations

import base64
import gzip
import json
import sqlite3
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import IO, Any

from sqlalchemy import JSON, Connection, Date, DateTime, Integer, LargeBinary, MetaData, Table, inspect, select, text

from bastide.db import Base, Database
from bastide.errors import ConfigError, Conflict, InvalidInput

FORMAT = "bastide-metadata/1"
BATCH = 1000


@dataclass
class DumpInfo:
    revision: str
    dialect: str
    rows: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.rows.values())


def _kind(column) -> str:
    kind = column.type
    if isinstance(kind, DateTime) or isinstance(getattr(kind, "impl", None), DateTime):
        return "datetime"
    if isinstance(kind, Date):
        return "date"
    if isinstance(kind, LargeBinary):
        return "bytes"
    if isinstance(kind, JSON):
        return "json"
    return "plain"


def _encode(kind: str, value: Any) -> Any:
    if value is None or kind in ("plain", "json"):
        return value
    if kind in ("datetime", "date"):
        return value.isoformat()
    return base64.b64encode(value).decode()


def _decode(kind: str, value: Any) -> Any:
    if value is None or kind in ("plain", "json"):
        return value
    if kind == "datetime":
        return datetime.fromisoformat(value)
    if kind == "date":
        return date.fromisoformat(value)
    return base64.b64decode(value)


# -- dump ----------------------------------------------------------------------------------------


def dump(db: Database, out: IO[bytes]) -> DumpInfo:
    """Write every row of the metadata database to `out` (gzipped JSON lines), as of one instant."""
    import bastide.models  # noqa: F401 - every domain's tables in the metadata

    revision, head = db.revision(), Database.head_revision()
    if revision != head:
        raise ConfigError(f"the metadata database is at schema revision {revision}, this Bastide writes {head}: "
                          "run `bastide init` to migrate it first")
    with _snapshot(db) as conn:
        info = DumpInfo(revision, db.engine.dialect.name)
        with gzip.GzipFile(fileobj=out, mode="wb", compresslevel=6, mtime=0) as sink:
            tables = Base.metadata.sorted_tables
            _line(sink, {"format": FORMAT, "revision": revision, "dialect": info.dialect,
                         "tables": [t.name for t in tables]})
            for table in tables:
                info.rows[table.name] = _dump_table(conn, table, sink)
    return info


def _line(sink, value: Any) -> None:
    sink.write(json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode() + b"\n")


def _dump_table(conn: Connection, table: Table, sink) -> int:
    columns = list(table.columns)
    kinds = [_kind(c) for c in columns]
    _line(sink, {"table": table.name, "columns": [c.name for c in columns], "kinds": kinds})
    count = 0
    result = conn.execution_options(yield_per=BATCH).execute(select(*columns).order_by(*table.primary_key.columns))
    for row in result:
        _line(sink, [_encode(k, v) for k, v in zip(kinds, row, strict=True)])
        count += 1
    _line(sink, {"end": table.name, "rows": count})
    return count


@contextmanager
def _snapshot(db: Database) -> Iterator[Connection]:
    """A connection that sees the database as of one instant, however long the dump takes.

    PostgreSQL: one REPEATABLE READ, read-only transaction (what pg_dump does). SQLite: a copy
    made by its online backup API (a reader's transaction would need the driver's own BEGIN)."""
    if db.engine.dialect.name == "postgresql":
        with db.engine.connect().execution_options(isolation_level="REPEATABLE READ",
                                                   postgresql_readonly=True) as conn, conn.begin():
            yield conn
        return
    with tempfile.TemporaryDirectory(prefix="bastide-dump-") as tmp:
        copy = Path(tmp) / "snapshot.db"
        raw = db.engine.raw_connection()
        try:
            target = sqlite3.connect(copy)
            try:
                raw.driver_connection.backup(target)
            finally:
                target.close()
        finally:
            raw.close()
        frozen = Database(f"sqlite:///{copy}")
        try:
            with frozen.engine.connect() as conn:
                yield conn
        finally:
            frozen.dispose()


# -- load ----------------------------------------------------------------------------------------


Rows = Callable[[dict], dict]


def load(db: Database, source: IO[bytes], *, change: dict[str, Rows] | None = None) -> DumpInfo:
    """Load a dump into `db`, which must hold nothing yet: at the dump's schema revision, in one
    transaction (all rows or none), then migrated to this version's. `change` gives, by table,
    what each row becomes on the way (a migration wraps keys again under another master key)."""
    with gzip.GzipFile(fileobj=source, mode="rb") as lines:
        header = _read_json(lines.readline())
        if not isinstance(header, dict) or header.get("format") != FORMAT:
            raise InvalidInput("this is not a Bastide metadata dump")
        check_empty(db)
        current = db.revision() if db.is_migrated() else None
        if current not in (None, header["revision"]):
            raise Conflict(f"the target database is at schema revision {current}, the dump at {header['revision']}: "
                           "load it into a new database", code="target_not_empty")
        db.migrate(header["revision"])
        info = DumpInfo(header["revision"], header["dialect"])
        with db.engine.begin() as conn:
            reflected = MetaData()
            reflected.reflect(conn)
            for _ in header["tables"]:
                name, count = _load_table(conn, reflected, lines, change or {})
                info.rows[name] = count
            _reset_sequences(conn, reflected)
    db.migrate()
    return info


def _read_json(raw: bytes) -> Any:
    if not raw:
        raise InvalidInput("the metadata dump ends early: it is truncated")
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise InvalidInput(f"the metadata dump is damaged: {exc}") from exc


def _load_table(conn: Connection, reflected: MetaData, lines, change: dict[str, Rows]) -> tuple[str, int]:
    section = _read_json(lines.readline())
    name = section.get("table") if isinstance(section, dict) else None
    if name not in reflected.tables:
        raise InvalidInput(f"the metadata dump names a table {name!r} its schema revision does not have")
    table, columns, kinds = reflected.tables[name], section["columns"], section["kinds"]
    changed = change.get(name, lambda row: row)
    batch, count = [], 0
    while True:
        row = _read_json(lines.readline())
        if isinstance(row, dict):
            if row.get("end") != name or row.get("rows") != count:
                raise InvalidInput(f"the metadata dump's table {name} is damaged (rows missing)")
            break
        batch.append(changed({c: _decode(k, v) for c, k, v in zip(columns, kinds, row, strict=True)}))
        count += 1
        if len(batch) >= BATCH:
            conn.execute(table.insert(), batch)
            batch = []
    if batch:
        conn.execute(table.insert(), batch)
    return name, count


def _reset_sequences(conn: Connection, reflected: MetaData) -> None:
    """PostgreSQL's id sequences continue after the loaded ids (SQLite's follow by themselves)."""
    if conn.dialect.name != "postgresql":
        return
    for table in reflected.sorted_tables:
        if "id" in table.c and table.c.id.primary_key and isinstance(table.c.id.type, Integer):
            conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                              f"COALESCE(MAX(id), 1), MAX(id) IS NOT NULL) FROM {table.name}"))


def check_empty(db: Database) -> None:
    """Refuse a database that holds anything: a restore or a migration never merges."""
    if not db.is_migrated():
        return
    with db.engine.connect() as conn:
        names = [n for n in inspect(conn).get_table_names() if n != "alembic_version"]
        full = [n for n in names if conn.execute(text(f'SELECT 1 FROM "{n}" LIMIT 1')).first()]
    if full:
        raise Conflict(f"the target database is not empty (tables {', '.join(sorted(full)[:5])} hold rows): "
                       "point BASTIDE_DATABASE_URL at a new, empty database", code="target_not_empty")


def rows_of(path: Path, table: str) -> list[dict]:
    """The rows of one table of a dump file, as dicts (a backup checks its snapshots with them)."""
    with open(path, "rb") as raw, gzip.GzipFile(fileobj=raw, mode="rb") as lines:
        _read_json(lines.readline())
        while True:
            section = _read_json(lines.readline())
            columns, kinds, inside = section["columns"], section["kinds"], section["table"] == table
            rows = []
            while not isinstance(row := _read_json(lines.readline()), dict):
                if inside:
                    rows.append({c: _decode(k, v) for c, k, v in zip(columns, kinds, row, strict=True)})
            if inside:
                return rows

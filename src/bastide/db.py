"""Metadata database: SQLAlchemy 2 engine and sessions, Alembic migrations.

SQLite is the embedded default, PostgreSQL the production one; the same models and
migrations serve both. Views and CLI commands own the transaction (`unit_of_work`).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import DateTime, MetaData, create_engine, event, inspect
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

from bastide.errors import ConfigError

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class UTCDateTime(TypeDecorator):
    """Timestamps are stored and returned in UTC on SQLite and PostgreSQL alike (AUD-04)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC) if value is not None else None

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


def _lower(text):
    return text.lower() if isinstance(text, str) else text


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):  # pragma: no cover - trivial
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA busy_timeout=10000")
            cur.close()
            # SQLite's lower() folds ASCII only: "Évaluation" stayed "Évaluation" and a search of the
            # data dictionary missed it where PostgreSQL found it. Python's folds every letter.
            dbapi_conn.create_function("lower", 1, _lower, deterministic=True)

        return engine
    return create_engine(url, pool_pre_ping=True)


class Database:
    def __init__(self, url: str):
        self.url = url
        self.engine = make_engine(url)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)

    @contextmanager
    def unit_of_work(self) -> Iterator[Session]:
        """One transaction: commit on success, roll back on any error."""
        session = self.sessions()
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def migrate(self, revision: str = "head") -> None:
        from alembic import command

        try:
            command.upgrade(_alembic_config(self.url), revision)
        except OperationalError as exc:
            raise ConfigError(f"cannot reach the metadata database: {exc.orig}") from exc

    def revision(self) -> str | None:
        """The schema revision the database is at (None before the first migration)."""
        from alembic.runtime.migration import MigrationContext

        with self.engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()

    @staticmethod
    def head_revision() -> str:
        """The schema revision this version of Bastide writes."""
        from alembic.script import ScriptDirectory

        return ScriptDirectory.from_config(_alembic_config("sqlite://")).get_current_head()

    def is_migrated(self) -> bool:
        try:
            return inspect(self.engine).has_table("alembic_version")
        except OperationalError as exc:
            raise ConfigError(f"cannot reach the metadata database: {exc.orig}") from exc

    def dispose(self) -> None:
        self.engine.dispose()


def _alembic_config(url: str):
    from alembic.config import Config

    here = Path(__file__).parent / "migrations"
    cfg = Config()
    cfg.set_main_option("script_location", str(here))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg

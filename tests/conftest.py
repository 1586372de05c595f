"""Fixtures: the metadata DB (SQLite and PostgreSQL) and the store (local and S3) are real."""

from __future__ import annotations

import os
import shutil
import secrets
import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from bastide.base.ingest import IngestRequest, ingest
from bastide.base.synth import generate
from bastide.identity import service as identity
from bastide.config import Settings
from bastide.platform import Platform, operator_actor
from bastide.query.engine import DuckDBEngine
from tests.services import S3_ACCESS, S3_SECRET, Postgres, SeaweedS3, SecondS3, SoftHsm

pytest_plugins = ["tests.workspace_fixtures"]  # the `ready` workspace, for the workspace and job tests


_SHARED: list = []  # the services the controller started for its parallel workers


def pytest_configure(config):
    """With parallel workers (pytest-xdist, `-n 2`), the controller starts PostgreSQL and
    SeaweedFS once and hands their addresses to the workers through the environment (the workers
    start after this hook): one cluster and one `weed mini` (whose internal ports are fixed) for
    the whole run. Serially, the session fixtures start their own."""
    if getattr(config.option, "numprocesses", None) and not hasattr(config, "workerinput"):
        pg, s3 = Postgres(), SeaweedS3()
        os.environ["BASTIDE_TEST_POSTGRES_URL"] = pg.start()
        _SHARED.append(pg)
        os.environ["BASTIDE_TEST_S3_ENDPOINT"] = s3.start()
        _SHARED.append(s3)


def pytest_unconfigure(config):
    while _SHARED:
        _SHARED.pop().stop()


@pytest.fixture(scope="session")
def postgres_server():
    url = os.environ.get("BASTIDE_TEST_POSTGRES_URL")
    if url:
        yield url
        return
    server = Postgres()
    try:
        url = server.start()
        yield url
    finally:
        server.stop()


@pytest.fixture(scope="session")
def s3_server():
    endpoint = os.environ.get("BASTIDE_TEST_S3_ENDPOINT")
    if endpoint:  # started by the controller for every worker
        yield SeaweedS3.attach(endpoint), endpoint
        return
    server = SeaweedS3()
    endpoint = server.start()
    try:
        yield server, endpoint
    finally:
        server.stop()


@pytest.fixture(scope="session")
def second_s3():
    """A second S3 server (another provider's), started by the test process that needs it."""
    server = SecondS3()
    endpoint = server.start()
    try:
        yield server, endpoint
    finally:
        server.stop()


@pytest.fixture(scope="session")
def hsm() -> dict:
    """A SoftHSM2 token for this test process: the settings that put a platform's keys in it."""
    token = SoftHsm()
    try:
        yield token.start()
    finally:
        token.stop()


def _fresh_postgres_db(server_url: str, *, template: str | None = None) -> str:
    """A new database on the server; a copy of `template` (a database no one is connected to)."""
    name = "t_" + uuid.uuid4().hex[:12]
    engine = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else "")))
    engine.dispose()
    return server_url.rsplit("/", 1)[0] + "/" + name


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'meta.db'}"
    return _fresh_postgres_db(request.getfixturevalue("postgres_server"))


def _s3_settings(request) -> dict:
    server, endpoint = request.getfixturevalue("s3_server")
    return {"store_url": f"s3://{server.fresh_prefix()}/bastide", "s3_endpoint": endpoint, "s3_access_key": S3_ACCESS,
            "s3_secret_key": S3_SECRET}


@pytest.fixture(params=["local", "s3"])
def store_settings(request) -> dict:
    return {} if request.param == "local" else _s3_settings(request)


def make_platform(tmp_path: Path, **overrides) -> Platform:
    # the platforms of a run share the machine: sandboxes of workspace 1 of two platforms must not
    # share a host uid (its process limit would count both), as two deployments on one host must not
    overrides.setdefault("sandbox_uid_base", 1_700_000_000 + secrets.randbelow(20_000) * 10_000)
    settings = Settings(home=tmp_path / "home", env="test", **overrides)
    platform = Platform(settings)
    platform.init(operator_actor())
    return platform


@pytest.fixture(params=["sqlite+local", "postgresql+s3"])
def deployment_kind(request) -> str:
    """The two deployments that matter: embedded defaults, and PostgreSQL + S3 (a test module
    keeps one with `parametrize("deployment_kind", [...], indirect=True)`)."""
    return request.param


@pytest.fixture
def platform(request, deployment_kind, tmp_path):
    """An empty platform on each deployment."""
    if deployment_kind == "sqlite+local":
        p = make_platform(tmp_path)
    else:
        url = _fresh_postgres_db(request.getfixturevalue("postgres_server"))
        p = make_platform(tmp_path, database_url=url, **_s3_settings(request))
    yield p
    p.close()


@pytest.fixture(scope="session")
def small_delivery(tmp_path_factory) -> Path:
    """A coherent synthetic delivery, made once; tests copy it before changing it."""
    out = tmp_path_factory.mktemp("synth") / "delivery"
    generate(out, beneficiaries=300, years=[2023, 2024], seed=7)
    return out


@pytest.fixture
def delivery(small_delivery, tmp_path) -> Path:
    target = tmp_path / "delivery"
    shutil.copytree(small_delivery, target)
    return target


@pytest.fixture
def actor():
    return operator_actor()


@pytest.fixture(autouse=True, scope="session")
def every_write_is_audited():
    """ARCHITECTURE §5: a transaction that writes any row records an audit event with it.

    Checked on every commit of every test, so a new service that forgets its event fails
    the suite wherever it is exercised.
    """
    from sqlalchemy import event, inspect
    from sqlalchemy.orm import Session

    from bastide.audit.models import AuditEvent, AuditHead

    def action(obj) -> bool:
        """Modified beyond the bookkeeping columns a model declares (a session's last_seen_at)."""
        state = inspect(obj)
        changed = {a.key for a in state.attrs if a.history.has_changes()}
        return bool(changed - getattr(obj, "__bookkeeping__", frozenset()))

    def note(session):
        changed = [*session.new, *session.deleted, *(o for o in session.dirty if session.is_modified(o) and action(o))]
        for obj in changed:
            if isinstance(obj, AuditEvent):
                session.info["audited"] = True
            elif not isinstance(obj, AuditHead):
                session.info.setdefault("writes", set()).add(type(obj).__name__)

    def before_flush(session, _context, _instances):
        note(session)

    def before_commit(session):
        note(session)  # commit flushes after this event: look at what is still pending too
        writes = session.info.pop("writes", set())
        audited = session.info.pop("audited", False)
        if writes and not audited:
            raise AssertionError(f"a transaction wrote {sorted(writes)} without an audit event")

    def after_rollback(session):
        session.info.pop("writes", None)
        session.info.pop("audited", None)

    event.listen(Session, "before_flush", before_flush)
    event.listen(Session, "before_commit", before_commit)
    event.listen(Session, "after_soft_rollback", lambda session, _tx: after_rollback(session))
    yield
    event.remove(Session, "before_flush", before_flush)
    event.remove(Session, "before_commit", before_commit)


@pytest.fixture(scope="session")
def tiny_delivery(tmp_path_factory) -> Path:
    """One year, fewer people: what governance and workspace tests need, in half the files."""
    out = tmp_path_factory.mktemp("synth-tiny") / "delivery"
    generate(out, beneficiaries=150, years=[2023], seed=7)
    return out


def _world(platform, small_delivery):
    """A published snds@2024-12 and four people (see `_people`)."""
    ingest(platform, actor=operator_actor(), request=IngestRequest(str(small_delivery), "snds", "2024-12"))
    return platform, _people(platform)


def _people(platform) -> dict:
    """alice and bob (researchers, a private lab), ines (instructor) and louis (legal recorder)
    at the access body, as actors by first name."""
    until = date.today() + timedelta(days=365)
    people = {}
    with platform.db.unit_of_work() as s:
        lab = identity.create_organisation(s, actor=operator_actor(), name="Labo privé", sector="private")
        hdh = identity.create_organisation(s, actor=operator_actor(), name="HDH", sector="public")
        for email, org, role in (("alice@labo.example", lab, "researcher"), ("ines@hdh.example", hdh, "instructor"),
                                 ("louis@hdh.example", hdh, "legal_recorder"), ("bob@labo.example", lab, "researcher")):
            identity.create_user(s, actor=operator_actor(), email=email, name=email, organisation=org, roles={role},
                                 end_of_rights=until)
    with platform.db.unit_of_work() as s:
        for email in ("alice@labo.example", "ines@hdh.example", "louis@hdh.example", "bob@labo.example"):
            people[email.split("@")[0]] = identity.actor_of(identity.get_user(s, email))
    return people


@dataclass
class _Template:
    """A world built once per test process, that tests get copies of: ingesting and enrolling
    people again for each test was a third of the suite's time."""
    home: Path  # the key files; with SQLite its database, with a local store the store
    settings: dict  # the template's database URL and store settings
    people: dict | None


_TEMPLATES: dict[tuple[str, Path, bool], _Template] = {}


def _template(request, kind: str, delivery: Path, people: bool) -> _Template:
    """The snapshot of `delivery` on a deployment of `kind`, and `_people` if asked."""
    if (kind, delivery, people) not in _TEMPLATES:
        root = request.getfixturevalue("tmp_path_factory").mktemp(f"template-{kind}")
        settings = _deployment(request, kind)
        platform = make_platform(root, **settings)
        ingest(platform, actor=operator_actor(), request=IngestRequest(str(delivery), "snds", "2024-12"))
        actors = _people(platform) if people else None
        platform.close()  # no connection left: PostgreSQL copies only a database nobody uses
        _TEMPLATES[(kind, delivery, people)] = _Template(root / "home", settings, actors)
    return _TEMPLATES[(kind, delivery, people)]


def _deployment(request, kind: str) -> dict:
    database, store = kind.split("+")
    settings = _s3_settings(request) if store == "s3" else {}
    if database == "postgresql":
        settings["database_url"] = _fresh_postgres_db(request.getfixturevalue("postgres_server"))
    return settings


def _copied_world(request, kind: str, delivery: Path, tmp_path: Path, *, people: bool = True) -> tuple[Platform, dict]:
    """A platform of its own holding what the template holds (its database, objects and keys)."""
    template, home = _template(request, kind, delivery, people), tmp_path / "home"
    shutil.copytree(template.home / "keys", home / "keys")
    settings = dict(template.settings)
    if "database_url" in settings:
        settings["database_url"] = _fresh_postgres_db(request.getfixturevalue("postgres_server"),
                                                      template=settings["database_url"].rsplit("/", 1)[1])
    else:
        shutil.copy2(template.home / "bastide.db", home / "bastide.db")
    if "store_url" in settings:
        server, _ = request.getfixturevalue("s3_server")
        settings["store_url"] = f"s3://{server.fresh_prefix()}/bastide"
        _copy_prefix(server.filesystem(), template.settings["store_url"], settings["store_url"])
    else:
        shutil.copytree(template.home / "store", home / "store")
    return make_platform(tmp_path, **settings), template.people


def _copy_prefix(fs, source: str, target: str) -> None:
    import pyarrow.fs as pafs

    source, target = source.removeprefix("s3://"), target.removeprefix("s3://")
    for info in fs.get_file_info(pafs.FileSelector(source, recursive=True)):
        if info.type == pafs.FileType.File:
            fs.copy_file(info.path, target + info.path[len(source):])


@pytest.fixture
def world(request, deployment_kind, tmp_path, tiny_delivery):
    """On both deployments (SQLite + local store, PostgreSQL + S3): for what reads the store. A
    copy of one world per test process (`_Template`): tests may change it as they like."""
    platform, people = _copied_world(request, deployment_kind, tiny_delivery, tmp_path)
    yield platform, people
    platform.close()


@pytest.fixture(scope="session")
def backed_up_once(tmp_path_factory, tiny_delivery):
    """Embedded defaults with a snapshot and people, backed up once into a folder: where what is
    the same code on both deployments is checked once (a restore's refusals, attacks on a backup).
    Tests may add to the platform (events, backups elsewhere), never change what it holds."""
    from bastide.backup import service as backup

    root = tmp_path_factory.mktemp("backed-up")
    platform, _ = _world(make_platform(root), tiny_delivery)
    made = backup.create(platform, actor=operator_actor(), url=str(root / "repository"))
    yield platform, root / "repository", made
    platform.close()


@pytest.fixture
def backed_up(backed_up_once, tmp_path):
    """`backed_up_once` with a copy of its repository this test may damage."""
    platform, repository, made = backed_up_once
    shutil.copytree(repository, tmp_path / "repository")
    return platform, tmp_path / "repository", made


@pytest.fixture(params=["sqlite", "postgresql"])
def db_platform(request, tmp_path):
    """Both databases, the local store: for what uses the store only to check a snapshot exists."""
    url = None if request.param == "sqlite" else _fresh_postgres_db(request.getfixturevalue("postgres_server"))
    platform = make_platform(tmp_path, **({"database_url": url} if url else {}))
    yield platform
    platform.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def gov_world(request, tmp_path, tiny_delivery):
    """Both databases, the local store: a copy of one world per test process, as `world`."""
    platform, people = _copied_world(request, f"{request.param}+local", tiny_delivery, tmp_path)
    yield platform, people
    platform.close()


@pytest.fixture
def engine():
    """A small in-process DuckDB engine for hand-made tables and the analytics views."""
    e = DuckDBEngine(memory_limit="512MB", threads=1)
    yield e
    e.close()

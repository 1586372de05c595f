"""The composition root: settings -> database, object store, key manager, signer."""

from __future__ import annotations

import getpass
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cached_property
from pathlib import Path

from bastide.audit.actions import AuditAction
from bastide.audit.service import record
from bastide.catalogue.workflow import DATA_OPERATOR
from bastide.config import Settings
from bastide.db import Database
from bastide.keys.base import KeyManager
from bastide.keys.local import LocalKeyManager
from bastide.keys.pkcs11 import Pkcs11KeyManager, Pkcs11Signer, Token, shared_token
from bastide.keys.signing import Signer
from bastide.liveness import Liveness
from bastide.statemachine import Actor
from bastide.storage import ObjectStore, open_store


def operator_actor() -> Actor:
    """The person at the CLI: the platform operator, who holds the server's key files and so
    administers it and loads data (never a researcher: separation of duties, IAM-07)."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # pragma: no cover - no passwd entry in some containers
        user = "unknown"
    return Actor(f"operator:{user}", frozenset({DATA_OPERATOR, "administrator"}))


class Platform:
    def __init__(self, settings: Settings):
        settings.check_production()
        self.settings = settings

    @cached_property
    def db(self) -> Database:
        return Database(self.settings.resolved_database_url)

    @cached_property
    def store(self) -> ObjectStore:
        return open_store(self.settings)

    @cached_property
    def token(self) -> Token | None:
        """The HSM's token when the keys live there (BASTIDE_KEY_BACKEND=pkcs11)."""
        if self.settings.key_backend != "pkcs11":
            return None
        return shared_token(self.settings.pkcs11_module, self.settings.pkcs11_token_label, self.settings.pkcs11_pin_file)

    @cached_property
    def keys(self) -> KeyManager:
        if self.token is not None:
            return Pkcs11KeyManager(self.token, label=f"{self.settings.pkcs11_key_label}-master")
        return LocalKeyManager(self.settings.resolved_master_key_file)

    @cached_property
    def liveness(self) -> Liveness:
        return Liveness(self.db, self.settings.heartbeat_seconds)

    @cached_property
    def signer(self) -> Signer | Pkcs11Signer:
        if self.token is not None:
            return Pkcs11Signer(self.token, label=f"{self.settings.pkcs11_key_label}-signing")
        return Signer(self.settings.resolved_signing_key_file)

    def init(self, actor: Actor) -> list[str]:
        """Create what is missing (keys, schema, store); say what was created."""
        created = []
        self.settings.home.mkdir(parents=True, exist_ok=True)
        if self.keys.ensure_master_key():
            created.append(f"master key {self.keys.location}")
        if self.signer.ensure_key():
            created.append(f"signing key {self.signer.location}")
        fresh = not self.db.is_migrated()
        self.db.migrate()
        if fresh:
            created.append("metadata database")
        self.store.check()
        if fresh:
            with self.db.unit_of_work() as session:
                record(session, actor=actor, action=AuditAction.PLATFORM_INIT, target="platform",
                       details={"database": self.db.engine.dialect.name, "store": self.store.url.split("://")[0]})
        return created

    @contextmanager
    def scratch(self, name: str) -> Iterator[Path]:
        """A folder of its own in the work dir for one operation's files, deleted after it."""
        work = self.settings.resolved_work_dir
        work.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix=f"bastide-{name}-", dir=work) as folder:
            yield Path(folder)

    def close(self) -> None:
        engines = sys.modules.get("bastide.workspaces.engines")  # not loaded: this process started no engine
        if engines is not None:  # (loading it costs half a second of every command's start: pandas, pyarrow)
            engines.close(self)  # the workspaces' engine processes this platform started
        if "liveness" in self.__dict__:
            self.liveness.stop()
        if "db" in self.__dict__:
            self.db.dispose()
        if self.__dict__.get("token") is not None:
            self.token.close()

"""A backup repository: a folder, or an S3 prefix (another provider's, ideally: RES-01 wants
backup sites far enough from production, under the same rules).

    bastide-backup.json   the repository's key, wrapped by the platform's master key (rewritten
                          at each backup, so it follows a rotation of the master key)
    blobs/<ab>/<name>     contents sealed with AES-256-GCM (keys.sealed) under a key derived for
                          each blob; a blob's name is a MAC of what it holds, so the provider
                          learns neither the contents nor which objects they are (KEY-07)
    backups/<id>.json     a backup's manifest, signed by the platform; written last, so a backup
                          exists only whole. A blob no manifest names (a run that stopped) is
                          never trusted: the next backup writes it again.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import IO

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from bastide.errors import IntegrityError, InvalidInput, KeyUnavailable, NotFound, StorageError
from bastide.keys import sealed
from bastide.keys.base import KeyManager
from bastide.keys.signing import BadSignature, document_file, verify_document
from bastide.storage import ObjectStore

REPOSITORY = "bastide-backup.json"
REPOSITORY_FORMAT = "bastide-backup-repository/1"
MANIFEST_FORMAT = "bastide-backup/1"


def _derive(key: bytes, label: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=label).derive(key)


@dataclass(frozen=True)
class RepositoryKey:
    key_id: str
    material: bytes

    def blob_name(self, identity: str) -> str:
        return hmac.new(_derive(self.material, b"bastide backup names"), identity.encode(), hashlib.sha256).hexdigest()

    def blob_key(self, name: str) -> bytes:
        # a key per blob: the random nonce prefixes of millions of blobs never meet under one key
        return _derive(self.material, b"bastide backup blob " + name.encode())


class Repository:
    def __init__(self, store: ObjectStore):
        self.store = store

    @property
    def url(self) -> str:
        return self.store.url

    # -- the repository's key --------------------------------------------------------------------

    def key_record(self) -> dict | None:
        """What bastide-backup.json says (None for a new repository)."""
        try:
            raw = self.store.get_bytes(REPOSITORY)
        except StorageError as exc:
            if exc.code == "not_found":
                return None
            raise
        try:
            record = json.loads(raw)
            if record.get("format") != REPOSITORY_FORMAT:
                raise ValueError(record.get("format"))
        except (ValueError, AttributeError) as exc:
            raise InvalidInput(f"{self.url} is not a Bastide backup repository ({REPOSITORY} is not one)") from exc
        return record

    def write_key_record(self, key_id: str, wrapped: bytes, backend: str) -> None:
        self.store.put_bytes(REPOSITORY, json.dumps({
            "format": REPOSITORY_FORMAT, "key_id": key_id, "key_backend": backend,
            "wrapped_key": base64.b64encode(wrapped).decode()}, indent=2).encode())

    def unwrap_key(self, keys: KeyManager) -> RepositoryKey:
        """The repository's key, unwrapped by this deployment's master key (a restore has no
        database to find it in: the repository says it)."""
        record = self.key_record()
        if record is None:
            raise NotFound(f"{self.url} holds no Bastide backup")
        try:
            material = keys.unwrap(record["key_id"], base64.b64decode(record["wrapped_key"]))
        except KeyUnavailable as exc:
            raise KeyUnavailable(
                f"this deployment's master key cannot open the backups in {self.url} ({exc.message}): give it the "
                "master key of the platform that made them (its key file, or the HSM token holding it); a backup "
                "never holds its own key") from exc
        return RepositoryKey(record["key_id"], material)

    # -- blobs -----------------------------------------------------------------------------------

    @staticmethod
    def blob_path(name: str) -> str:
        return f"blobs/{name[:2]}/{name}"

    def seal_into(self, key: RepositoryKey, name: str, source: IO[bytes]) -> sealed.Sealed:
        """Seal what `source` holds as blob `name`; the hash and size of the content, in clear."""
        with self.store.writing(self.blob_path(name)) as sink:
            return sealed.seal_stream(key.blob_key(name), name, source, sink)

    @contextmanager
    def opening(self, key: RepositoryKey, name: str) -> Iterator[Iterator[bytes]]:
        """The content of blob `name`, chunk by chunk, each authenticated before it is given."""
        with self.store.reading(self.blob_path(name)) as source:
            yield _authentic(sealed.open_stream(key.blob_key(name), name, source), name)

    # -- manifests -------------------------------------------------------------------------------

    @staticmethod
    def manifest_path(backup_id: str) -> str:
        return f"backups/{backup_id}.json"

    def write_manifest(self, document: dict, signature: str, public_pem: str) -> None:
        self.store.put_bytes(self.manifest_path(document["id"]), document_file(document, signature, public_pem).encode())

    def backup_ids(self) -> list[str]:
        return sorted(o.key.removeprefix("backups/").removesuffix(".json") for o in self.store.list("backups")
                      if o.key.endswith(".json"))

    def manifest(self, backup_id: str | None, *, public_pem: str) -> dict:
        """A backup's manifest (the latest without an id), its signature checked with `public_pem`."""
        ids = self.backup_ids()
        if not ids:
            raise NotFound(f"{self.url} holds no backup yet")
        backup_id = backup_id or ids[-1]
        if backup_id not in ids:
            raise NotFound(f"{self.url} holds no backup {backup_id} (it holds {', '.join(ids[-5:])})")
        text = self.store.get_bytes(self.manifest_path(backup_id)).decode(errors="replace")
        try:
            return verify_document(text, public_pem=public_pem, format=MANIFEST_FORMAT)
        except BadSignature as exc:
            raise IntegrityError(f"backup {backup_id}: {exc}; it was altered, or signed by another platform's "
                                 "key (give this deployment the signing key of the platform that made it)") from exc


def _authentic(chunks: Iterator[bytes], name: str) -> Iterator[bytes]:
    from cryptography.exceptions import InvalidTag

    try:
        yield from chunks
    except (InvalidTag, ValueError) as exc:
        raise IntegrityError(f"blob {name} of the backup is damaged or was altered") from exc

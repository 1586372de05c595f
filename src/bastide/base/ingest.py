"""Ingest a delivery into an immutable, signed, encrypted snapshot.

The pipeline owns its transactions as a CLI command does: it stages the snapshot (one
commit), does the long work outside any transaction, then publishes it (one commit).
Until that last commit the snapshot is invisible; a crash leaves a `staging` row and
store objects that the next run of the same command clears before starting again.
"""

from __future__ import annotations

import hashlib
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow.dataset as ds

from bastide.base import manifest, profile
from bastide.base.delivery import (
    DeliveredFolder,
    delimiter_name,
    discover,
    fetch_s3,
    normalise_delimiter,
    normalise_encoding,
    source_digest,
)
from bastide.base.deviations import ARCHIVES
from bastide.base.drift import accept_drift, check_policy
from bastide.base.parquet_out import OutputTarget, write_folder
from bastide.base.report import Report
from bastide.base.schema import SchemaRegistry, load_schema_dir, snds_registry
from bastide.base.stage import ORPHANED, Stage, connect
from bastide.catalogue import service as catalogue
from bastide.errors import DomainError, ValidationFailed
from bastide.keys.parquet import scan_options
from bastide.keys.service import unwrap_key
from bastide.platform import Platform
from bastide.statemachine import Actor

Progress = Callable[[str, dict], None]
FATAL_RULES = {"unknown_column", "missing_column", "duplicate_column", "empty_file", "bad_compression", "delimiter",
               "unreadable", "header_mismatch", "encoding", ORPHANED}
SNDS_INFO = catalogue.DatasetInfo(
    title="Système national des données de santé (SNDS) — base principale",
    description="Données de remboursement de l'Assurance maladie (DCIR), hospitalisations (PMSI), causes de décès "
                "et référentiels, pseudonymisés.",
    schema_source="schema-snds",
    # EHDS Art. 51 as HealthData@EU codes them: claims and reimbursements (DCIR, PMSI), causes of death
    # (CépiDc), the executing professionals' specialty and establishment (catalogue/vocabulary.py)
    health_categories=["HRAD", "MRMR", "IDHP"],
    keywords=["SNDS", "DCIR", "PMSI", "CépiDc", "assurance maladie"],
)


@dataclass(frozen=True)
class IngestRequest:
    source: str
    dataset: str
    release: str
    schema: Path | None = None
    encoding: str = "utf-8"
    quarantine: bool = False
    delimiter: str = "auto"  # or ; , tab |
    schema_drift: str = "reject"  # or accept: publish the columns as delivered (base.drift)


@dataclass
class IngestResult:
    ref: str
    rows: int = 0
    files: int = 0
    bytes: int = 0
    seconds: float = 0.0
    reused: list[str] = field(default_factory=list)
    quarantined: dict[str, int] = field(default_factory=dict)
    tables: dict[str, int] = field(default_factory=dict)
    drifted: dict[str, dict] = field(default_factory=dict)  # folder -> columns added and removed, as accepted


def registry_for(request: IngestRequest) -> tuple[SchemaRegistry, catalogue.DatasetInfo]:
    if request.schema is not None:
        registry = load_schema_dir(request.schema, request.dataset)
        return registry, catalogue.DatasetInfo(title=request.dataset, description="", schema_source=str(request.schema))
    if request.dataset != "snds":
        raise DomainError(f"dataset {request.dataset} needs --schema FILE_OR_DIR (Table Schema JSON)",
                          code="schema_required")
    return snds_registry(), SNDS_INFO


def ingest(platform: Platform, *, actor: Actor, request: IngestRequest, progress: Progress | None = None) -> IngestResult:
    began = time.monotonic()
    catalogue.check_names(request.dataset, request.release)
    encoding, delimiter = normalise_encoding(request.encoding), normalise_delimiter(request.delimiter)
    check_policy(request.schema_drift)
    registry, info = registry_for(request)
    work = platform.settings.resolved_work_dir / f"ingest-{request.dataset}-{request.release}"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    try:
        source = _local_source(platform, request.source, work)
        folders, drifts = discover(source, registry), {}
        if request.schema_drift == "accept":
            folders, drifts = accept_drift(folders, encoding=encoding, delimiter=delimiter)
        with platform.db.unit_of_work() as session:
            dataset = catalogue.ensure_dataset(session, actor=actor, name=request.dataset, info=info)
            snapshot = catalogue.stage_snapshot(session, actor=actor, keys=platform.keys, dataset=dataset,
                                                release=request.release)
            snapshot_id, prefix, key_id = snapshot.id, snapshot.prefix, snapshot.key_id
        with platform.liveness.holding(catalogue.Snapshot, snapshot_id):  # if this process ends: bastide.recovery
            platform.store.delete_prefix(prefix)  # what a crashed attempt left behind
            run = _Run(platform, request, registry, encoding, folders, snapshot_id, prefix, key_id, work,
                       progress or _quiet, delimiter=delimiter, drifts=drifts)
            try:
                result = run.execute()
            except DomainError as exc:
                run.abandon(actor, exc)
                raise
            result.seconds = time.monotonic() - began
            with platform.db.unit_of_work() as session:
                snapshot = session.get(catalogue.Snapshot, snapshot_id)
                catalogue.publish_snapshot(session, actor=actor, snapshot=snapshot, **run.publication)
            return result
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _quiet(_event: str, _info: dict) -> None:
    return None


def _local_source(platform: Platform, source: str, work: Path) -> Path:
    if source.startswith("s3://"):
        from bastide.storage.s3 import s3_filesystem

        return fetch_s3(source, work / "incoming", s3_filesystem(platform.settings))
    return Path(source)


class _Run:
    def __init__(self, platform, request, registry, encoding, folders, snapshot_id, prefix, key_id, work, progress, *,
                 delimiter: str = "", drifts: dict | None = None):
        self.p, self.request, self.registry, self.encoding, self.folders = platform, request, registry, encoding, folders
        self.delimiter, self.drifts, self.delimiters = delimiter, drifts or {}, {}
        self.snapshot_id, self.prefix, self.key_id, self.work, self.progress = snapshot_id, prefix, key_id, work, progress
        self.report = Report(limit=platform.settings.max_reported_errors)
        self.reused: dict[str, list[manifest.FileEntry]] = {}
        self.profiles: dict[str, profile.Profile | None] = {}  # folder -> its columns' profile (None: unknown)
        self.digests: dict[str, str] = {}
        self.publication: dict = {}

    def execute(self) -> IngestResult:
        settings = self.p.settings
        con = connect(self.work, threads=settings.duckdb_threads, memory_limit=settings.duckdb_memory_limit)
        try:
            stage = Stage(con, self.report, quarantine=self.request.quarantine, directory=self.work / "stage",
                          delimiter=self.delimiter)
            self.delimiters = stage.delimiters
            self._stage_all(stage)
            self._check_links(stage)
            self._raise_if_failed()
            return self._write_all(stage)
        finally:
            con.close()

    def _stage_all(self, stage: Stage) -> None:
        options = f"{self.encoding}|quarantine={self.request.quarantine}|delimiter={self.delimiter}"
        for folder in self.folders:
            self.digests[folder.name] = source_digest(folder, options=options)
            if self._try_reuse(stage, folder):
                continue
            self.progress("stage", {"folder": folder.name})
            if stage.load(folder, self.encoding):
                stage.check_rows(folder)
                stage.check_unique(folder)

    def _try_reuse(self, stage: Stage, folder: DeliveredFolder) -> bool:
        with self.p.db.unit_of_work() as session:
            dataset = catalogue.get_dataset(session, self.request.dataset)
            found = catalogue.find_reusable_source(session, dataset=dataset, digest=self.digests[folder.name])
            if found is None:
                return False
            old, source = found
            old_prefix, old_key = old.prefix, unwrap_key(session, keys=self.p.keys, key_id=old.key_id)
            self.profiles[folder.name] = profile.Profile.kept(source.nulls, source.profile)  # the same content
        _body, entries = manifest.parse(self.p.store.get_bytes(f"{old_prefix}/{manifest.MANIFEST}"))
        entries = [e for e in entries if e.folder == folder.name]
        if not entries:  # delivered empty then: no file to reuse, and staging it again costs nothing
            return False
        self.reused[folder.name] = entries
        fmt = ds.ParquetFileFormat(default_fragment_scan_options=scan_options({entries[0].key_id: old_key}))
        data = ds.dataset([self.p.store.path(e.path) for e in entries], format=fmt, filesystem=self.p.store.fs)
        stage.register(folder.name, data, {c.name: c.read_type for c in folder.table.schema.columns})
        self.progress("reuse", {"folder": folder.name})
        return True

    def _check_links(self, stage: Stage) -> None:
        by_name = {f.name: f for f in self.folders}
        available = set(stage.types)
        for _ in range(3 if self.request.quarantine else 1):  # quarantine can orphan grandchildren
            removed = 0
            for folder in self.folders:
                if folder.name not in available:
                    continue
                for fk in self.registry.links(folder.table.schema):
                    parent = _parent_folder(folder, fk.table)
                    parents = [p for p in (parent, ARCHIVES.get(parent)) if p in available and p in by_name
                               and _fields_exist(folder, by_name[p], fk)]  # an archived row is a row too
                    # a reused table was checked against the same parents before, unless one changed: a new
                    # IR_BEN_R that lost a beneficiary orphans the prestations of an unchanged ER_PRS_F
                    if parent in parents and not {folder.name, *parents} <= set(self.reused):
                        removed += stage.check_link(folder.name, fk, parents, fix=folder.name not in self.reused)
            if not removed:
                break

    def _raise_if_failed(self) -> None:
        fatal = any(rule in FATAL_RULES for (_t, rule) in self.report.counts)
        if self.report.failed and (fatal or not self.request.quarantine):
            drifted = sorted({t for (t, rule) in self.report.counts if rule in ("unknown_column", "missing_column")})
            hint = (f"; the columns of {', '.join(drifted)} differ from the schema: if the producer changed them, "
                    "run the same command with --schema-drift accept" if drifted and
                    self.request.schema_drift == "reject" else "")
            raise ValidationFailed(
                f"the delivery breaks its schema ({self.report.total} problems): nothing was published{hint}",
                details=self.report.to_dict(),
            )

    def _write_all(self, stage: Stage) -> IngestResult:
        with self.p.db.unit_of_work() as session:
            key = unwrap_key(session, keys=self.p.keys, key_id=self.key_id)
        s = self.p.settings
        target = OutputTarget(self.p.store, self.prefix, self.key_id, key, self.work, s.parquet_row_group_rows,
                              s.parquet_file_rows, workers=s.duckdb_threads)
        files: list[manifest.FileEntry] = []
        for folder in self.folders:
            if folder.name in self.reused:
                files += self.reused[folder.name]
                continue
            self.progress("write", {"folder": folder.name, "rows": stage.count(folder.name)})
            written, seen = write_folder(stage.con, folder, target,
                                         lambda e: self.progress("file", {"size": e.size, "rows": e.rows}))
            files += written
            self.profiles[folder.name] = seen
        return self._seal(files)

    def _kept(self, folder: str) -> tuple[dict | None, dict | None]:
        seen = self.profiles.get(folder)
        return (None, None) if seen is None else (dict(seen.nulls), seen.values())

    def _summary(self, table: str) -> dict | None:
        of_table = profile.of_table([self.profiles.get(f.name) for f in self.folders if f.table.schema.name == table])
        return None if of_table is None else of_table.summary()

    def _seal(self, files: list[manifest.FileEntry]) -> IngestResult:
        schemas = {f.table.schema.name: f.table.schema for f in self.folders}
        tables = {name: {"rows": 0, "bytes": 0, "files": 0} for name in schemas}
        for entry in files:
            agg = tables[entry.table]
            agg["rows"], agg["bytes"], agg["files"] = agg["rows"] + entry.rows, agg["bytes"] + entry.size, agg["files"] + 1
        folder_rows = {f.name: sum(e.rows for e in files if e.folder == f.name) for f in self.folders}
        sources = {f.name: {"table": f.table.schema.name, "digest": self.digests[f.name], "rows": folder_rows[f.name],
                            "reused": f.name in self.reused, "columns": f.table.schema.column_names,
                            **self._delivered_as(f.name)} for f in self.folders}
        raw = manifest.build(dataset=self.request.dataset, release=self.request.release, files=files, tables=tables,
                             sources=sources, schema_hashes={n: s.schema_hash for n, s in schemas.items()},
                             quarantined=dict(self.report.quarantined))
        body, _ = manifest.parse(raw)
        self.p.store.put_bytes(f"{self.prefix}/{manifest.SIGNATURE}", self.p.signer.sign(raw))
        self.p.store.put_bytes(f"{self.prefix}/{manifest.MANIFEST}", raw)  # written last: the commit marker
        self.publication = {
            "tables": [catalogue.PublishedTable(schemas[n], t["rows"], t["bytes"], t["files"], self._summary(n))
                       for n, t in tables.items()],
            "sources": [catalogue.PublishedSource(n, s["table"], s["digest"], s["rows"], *self._kept(n))
                        for n, s in sources.items()],
            "merkle_root": body["merkle_root"],
            "manifest_sha256": hashlib.sha256(raw).hexdigest(),
            "quarantined": sum(self.report.quarantined.values()),
        }
        return IngestResult(
            ref=f"{self.request.dataset}@{self.request.release}", rows=sum(t["rows"] for t in tables.values()),
            files=len(files), bytes=sum(e.size for e in files), reused=sorted(self.reused),
            quarantined=dict(self.report.quarantined), tables={n: t["rows"] for n, t in tables.items()},
            drifted={n: d.to_dict() for n, d in sorted(self.drifts.items())},
        )

    def _delivered_as(self, folder: str) -> dict:
        """What the manifest says of how a folder came: its delimiter, its drift from the schema."""
        out = {}
        if folder in self.delimiters:
            out["delimiter"] = delimiter_name(self.delimiters[folder])
        if folder in self.drifts:
            out["schema_drift"] = self.drifts[folder].to_dict()
        return out

    def abandon(self, actor: Actor, exc: DomainError) -> None:
        """Reject the staged snapshot and clear its objects; nothing was visible."""
        try:
            self.p.store.delete_prefix(self.prefix)
        except DomainError:
            pass  # the store is down: the next run clears it before starting
        with self.p.db.unit_of_work() as session:
            snapshot = session.get(catalogue.Snapshot, self.snapshot_id)
            counts = {f"{t}:{r}": n for (t, r), n in self.report.counts.items()}
            catalogue.reject_snapshot(session, actor=actor, snapshot=snapshot, reason=exc.code, details={"counts": counts})


def _parent_folder(child: DeliveredFolder, ref_table: str) -> str:
    year = child.table.year
    if year is not None and "aa" in ref_table:
        return ref_table.replace("aa", f"{year % 100:02d}", 1)
    return ref_table


def _fields_exist(child: DeliveredFolder, parent: DeliveredFolder, fk) -> bool:
    return (len(fk.fields) == len(fk.ref_fields) and set(fk.fields) <= set(child.table.schema.column_names)
            and set(fk.ref_fields) <= set(parent.table.schema.column_names))

"""One Settings class for the whole platform.

Embedded defaults (SQLite, a local folder, a local key file) need no setting at all;
production points the same code at PostgreSQL, an S3 bucket and an HSM by configuration
only. Every setting is documented in docs/configuration.md (a test enforces it).
"""

from __future__ import annotations

import os
import tomllib
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from bastide.errors import ConfigError

UNITS = {"KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12, "K": 2**10, "M": 2**20, "G": 2**30, "T": 2**40}


def bytes_of(size: str) -> int:
    """`4GB`, `64KB`, `512MB` (as DuckDB reads them), `2g`, `512m` (as a JVM does: powers of
    1024) or a number of bytes, as bytes."""
    text = size.strip().upper()
    unit = next((u for u in ("KB", "MB", "GB", "TB", "K", "M", "G", "T") if text.endswith(u)), "")
    number = text[:len(text) - len(unit)]
    try:
        value = float(number) * UNITS.get(unit, 1)
    except ValueError:
        raise ValueError(f"{size!r} is not a size: write it as 512MB, 4GB or a number of bytes") from None
    if value < 1:
        raise ValueError(f"{size!r} is not a size: it must be positive")
    return int(value)


class _TomlSource(PydanticBaseSettingsSource):
    """Reads settings from the TOML file named by BASTIDE_CONFIG_FILE, if any."""

    def get_field_value(self, field, field_name):  # pragma: no cover - unused by pydantic here
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        path = os.environ.get("BASTIDE_CONFIG_FILE")
        return _read_toml(Path(path)) if path else {}


def _read_toml(path: Path) -> dict[str, Any]:
    """The [bastide] table of a TOML file (or the whole file if it has none)."""
    try:
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError as exc:
        raise ConfigError(f"configuration file {path} does not exist") from exc
    except OSError as exc:
        raise ConfigError(f"cannot read the configuration file {path}: {exc.strerror}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"configuration file {path} is not valid TOML: {exc}") from exc
    return data.get("bastide", data)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="BASTIDE_", extra="forbid")

    config_file: Path | None = Field(None, description="Optional TOML file with these settings (a [bastide] table).")
    home: Path = Field(Path(".bastide"), description="Folder for embedded state: SQLite DB, local store, key files.")
    env: Literal["dev", "test", "prod"] = Field("dev", description="Deployment kind; `prod` refuses embedded secrets.")
    database_url: str | None = Field(None, description="SQLAlchemy URL of the metadata DB; default SQLite in `home`.")
    store_url: str | None = Field(None, description="Object store: a folder path or `s3://bucket/prefix`; default `home/store`.")
    s3_endpoint: str | None = Field(None, description="S3 endpoint URL (e.g. `https://s3.provider.example`).")
    s3_region: str = Field("us-east-1", description="S3 region name.")
    s3_access_key: SecretStr | None = Field(None, description="S3 access key id.")
    s3_secret_key: SecretStr | None = Field(None, description="S3 secret key.")
    backup_s3_endpoint: str | None = Field(None, description="S3 endpoint of `s3://` backup repositories, when "
                                           "not the store's own (a second provider, or another region).")
    backup_s3_access_key: SecretStr | None = Field(None, description="Access key id on the backup endpoint.")
    backup_s3_secret_key: SecretStr | None = Field(None, description="Secret key on the backup endpoint.")
    key_backend: Literal["local", "pkcs11"] = Field("local", description="Where the master and signing keys live: "
                                                    "`local` (key files in `home/keys`) or `pkcs11` (made in an HSM's "
                                                    "token, never leaving it).")
    pkcs11_module: Path = Field(Path("/usr/lib/softhsm/libsofthsm2.so"), description="The HSM's PKCS#11 library "
                                "(SoftHSM2's by default).")
    pkcs11_token_label: str = Field("bastide", description="Label of the token holding the platform's keys.")
    pkcs11_pin_file: Path | None = Field(None, description="File (0600) holding the token's user PIN.")
    pkcs11_key_label: str = Field("bastide", description="Prefix of the platform's keys' labels in the token "
                                  "(`<prefix>-master`, `<prefix>-signing`): several deployments may share a token.")
    sovereignty_register: Path | None = Field(None, description="The operator's register of who runs each external "
                                              "endpoint and under which jurisdiction (TOML, docs/operations.md): "
                                              "`bastide sovereignty report` reads it.")
    master_key_file: Path | None = Field(None, description="Master key file (0600); default `home/keys/master.key`.")
    signing_key_file: Path | None = Field(None, description="Ed25519 signing key (0600); default `home/keys/signing.pem`.")
    work_dir: Path | None = Field(None, description="Scratch space for ingest; default `home/work`.")
    duckdb_memory_limit: str = Field("4GB", description="Memory cap for the embedded DuckDB engine.")
    duckdb_threads: int = Field(2, description="Threads for the embedded DuckDB engine.")
    engine: Literal["duckdb", "spark"] = Field("duckdb", description="Engine of extract builds, workspace queries "
                                               "and jobs where the permit names none: `duckdb` (embedded) or `spark` "
                                               "(a cluster, see docs/scale.md).")
    spark_master: str = Field("local[2]", description="Spark master URL: `local[N]`, `spark://host:7077` or "
                              "`k8s://https://…` (with `engine = spark`).")
    spark_driver_memory: str = Field("2g", description="Memory of the Spark driver (JVM heap).")
    spark_shuffle_partitions: int = Field(4, description="Spark SQL shuffle partitions: 3-4x the cluster's cores.")
    key_broker_bind: str = Field("127.0.0.1", description="Address the key broker listens on for Spark's "
                                 "Parquet encryption; a private network only (docs/scale.md).")
    parquet_row_group_rows: int = Field(1_000_000, description="Rows per Parquet row group written by ingest.")
    parquet_file_rows: int = Field(5_000_000, description="Most rows per Parquet file before a new part starts.")
    max_reported_errors: int = Field(50, description="Validation errors listed per rule and table in a report.")
    catalogue_publisher: str = Field("Plateforme des données de santé", description="Publisher named in HealthDCAT-AP exports.")
    catalogue_contact_email: str = Field("dpo@bastide.invalid", description="Contact e-mail in HealthDCAT-AP exports.")
    catalogue_base_iri: str = Field("https://bastide.invalid/", description="Base IRI for catalogue resources.")
    auth_max_failures: int = Field(5, description="Failed sign-ins of one account (existing or not) after which "
                                   "each further try waits: 1 s, then twice as long each time (IAM-04).")
    auth_source_failures: int = Field(20, description="Failed sign-ins from one address after which each further "
                                      "try from it waits, as for an account.")
    auth_backoff_max_seconds: int = Field(900, description="Longest wait between two sign-in tries.")
    sign_in_threads: int = Field(default_factory=lambda: max(1, (os.cpu_count() or 2) // 2),
                                 description="Threads that check passwords (Argon2, tens of milliseconds of a core "
                                 "each), apart from those serving every other request: a storm of sign-ins queues "
                                 "for them and starves no one. Default: half the cores.")
    mail_url: str | None = Field(None, description="Mail relay for the messages people get (a reset of their "
                                 "account; information requested, decisions, releases, mailed by the workers): "
                                 "smtp://host:port, smtp+starttls://… or smtps://…, user and password in the URL if "
                                 "needed; without it, messages are written to `home/outbox/`.")
    mail_from: str = Field("Bastide <no-reply@bastide.invalid>", description="Sender of the platform's messages.")
    max_request_size: str = Field("4MB", description="Largest request body the platform reads (checked before "
                                  "anything else, authentication included): a job's script of a million characters "
                                  "fits; files come in through the import lane.")
    max_import_size: str = Field("20MB", description="Largest request to the import lane (its files are at most "
                                 "16 MiB; a form adds its own bytes).")
    public_url: str = Field("http://localhost:8000", description="Address users reach the platform at (activation links).")
    permit_check_seconds: int = Field(5, description="Seconds between the workers' scheduled checks: expired or "
                                      "revoked permits (their workspaces lock then), builds of new permits, ended "
                                      "processes.")
    workspace_retention_days: int = Field(183, description="Days a locked workspace is kept before its keys are "
                                          "destroyed and its files deleted (SPE-11).")
    workspace_query_seconds: int = Field(60, description="Longest a workspace SQL query may run before it is interrupted.")
    workspace_query_rows: int = Field(1000, description="Most rows a workspace SQL query shows.")
    workspace_memory_limit: str = Field("2GB", description="Memory of a workspace's query engine (DuckDB's limit; "
                                        "its process may reserve twice that and 4 GB more).")
    workspace_query_size: str = Field("8MB", description="Most bytes one workspace query shows (a screen view): "
                                      "the rows that fit, and the answer says it was cut.")
    workspace_daily_rows: int = Field(10_000, description="Most rows of microdata one person is shown by a "
                                      "workspace's queries in a day (UTC); past it, results leave only as outputs "
                                      "through the airlock.")
    workspace_spill_limit: str = Field("10GB", description="Disk a workspace's query engine may spill to (its own "
                                       "folder, in its sandbox).")
    workspace_engine_connections: int = Field(4, description="Queries one workspace's engine runs at once.")
    workspace_engine_idle_seconds: int = Field(600, description="Seconds an unused workspace engine is kept "
                                               "before it is stopped (the next query starts it again).")
    job_memory_limit: str = Field("4GB", description="Address-space cap of a sandboxed job (RLIMIT_AS).")
    job_seconds: int = Field(3600, description="Wall time after which a sandboxed job is killed.")
    job_output_file_size: str = Field("1GB", description="Largest file a job may write (RLIMIT_FSIZE): in its "
                                      "outputs, its /tmp, anywhere.")
    job_outputs_size: str = Field("4GB", description="Most disk a job's outputs may use together; past it the job "
                                  "is stopped and nothing of it is kept.")
    job_log_size: str = Field("64MB", description="Most a job may print; past it the job is stopped.")
    job_log_shown: str = Field("64KB", description="How much of a job's log is shown (page, API, CLI); a longer "
                               "log is kept whole as the job's output job.log, which leaves only through the airlock.")
    sandbox_uid_base: int = Field(1_700_000_000, description="A root server runs each workspace's sandboxes as host "
                                  "uid base + workspace id (unprivileged, one per workspace); no account is needed. "
                                  "Two deployments on one host need bases far apart.")
    sandbox_processes: int = Field(512, description="Most processes and threads of one workspace's sandboxes "
                                   "together (RLIMIT_NPROC of its uid).")
    sandbox_tmp_size: str = Field("256MB", description="Size of the /tmp of a sandbox (a tmpfs, in memory).")
    job_result_size: str = Field("256MB", description="Most bytes one `workspace.sql()` query of a job on a "
                                 "Spark workspace brings into its sandbox.")
    job_result_rows: int = Field(5_000_000, description="Most rows one `workspace.sql()` query of a job on a Spark "
                                 "workspace brings into its sandbox (aggregate in SQL beyond).")
    audit_checkpoint_events: int = Field(1000, description="Events after which the server signs a checkpoint of "
                                         "the audit chain (issue 14: a chain rewritten whole is caught by them).")
    audit_checkpoint_seconds: int = Field(300, description="Seconds after which the server signs a checkpoint of a "
                                          "chain that grew, however little: the window in which deleted events go "
                                          "unseen.")
    heartbeat_seconds: int = Field(15, description="Seconds between the stamps a process puts on the extract builds "
                                   "and jobs it runs; one left unstamped for four of them (its process ended) is "
                                   "ended by the workers' checks: failed, its files deleted, saying why.")
    worker_slots: int = Field(2, description="Builds and jobs one `bastide worker` runs at once (one build at a "
                              "time: a build uses the node's memory).")
    worker_poll_seconds: float = Field(1.0, gt=0, description="Seconds a worker with nothing to do waits before it looks "
                                       "at the queue again: the longest a new build or job waits for an idle worker.")
    airlock_approvals: int = Field(2, description="Output checkers' approvals each released file needs (SPE-07).")
    airlock_threshold: int = Field(10, description="Fewest persons a released table cell may count (SPE-08; "
                                   "SNDS/PMSI profiles may ask 11).")
    airlock_dataset_thresholds: dict[str, int] = Field(
        default_factory=dict, description="Thresholds of datasets that ask for more than the default, as JSON, "
        'e.g. {"pmsi": 11}: a project on such a dataset gets its threshold (a permit may set its own).')
    terms_version: str = Field("2026-11", description="Version of the terms of use users accept at first login.")
    healthdcatap_namespace: str = Field(
        "http://healthdataportal.eu/ns/health#", description="HealthDCAT-AP namespace (provisional, CAT-10)."
    )

    @classmethod
    def settings_customise_sources(cls, settings_cls, init_settings, env_settings, dotenv_settings, file_secret_settings):
        return (init_settings, env_settings, _TomlSource(settings_cls), file_secret_settings)

    @field_validator("duckdb_threads", "parquet_row_group_rows", "parquet_file_rows", "max_reported_errors",
                     "auth_max_failures", "permit_check_seconds", "workspace_retention_days", "workspace_query_seconds",
                     "workspace_query_rows", "job_seconds", "job_result_rows", "airlock_approvals", "airlock_threshold",
                     "spark_shuffle_partitions", "heartbeat_seconds", "sandbox_processes", "sandbox_uid_base",
                     "workspace_daily_rows", "workspace_engine_connections", "workspace_engine_idle_seconds",
                     "auth_source_failures", "auth_backoff_max_seconds", "sign_in_threads", "audit_checkpoint_events",
                     "audit_checkpoint_seconds", "worker_slots")
    @classmethod
    def _positive(cls, value: int) -> int:
        if value < 1:
            raise ValueError("must be at least 1")
        return value

    @field_validator("duckdb_memory_limit", "workspace_memory_limit", "job_memory_limit", "job_output_file_size",
                     "job_outputs_size", "job_log_size", "job_log_shown", "sandbox_tmp_size", "workspace_query_size",
                     "workspace_spill_limit", "job_result_size", "max_request_size", "max_import_size")
    @classmethod
    def _size(cls, value: str) -> str:
        bytes_of(value)
        return value

    @cached_property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.home / 'bastide.db').resolve()}"

    @cached_property
    def resolved_store_url(self) -> str:
        return self.store_url or str((self.home / "store").resolve())

    @cached_property
    def resolved_master_key_file(self) -> Path:
        return self.master_key_file or self.home / "keys" / "master.key"

    @cached_property
    def resolved_signing_key_file(self) -> Path:
        return self.signing_key_file or self.home / "keys" / "signing.pem"

    @cached_property
    def resolved_work_dir(self) -> Path:
        return self.work_dir or self.home / "work"

    def check_production(self) -> None:
        """Refuse embedded defaults where they would be unsafe (prod)."""
        if self.env != "prod":
            return
        if self.resolved_database_url.startswith("sqlite"):
            raise ConfigError("BASTIDE_ENV=prod needs BASTIDE_DATABASE_URL pointing at PostgreSQL")
        if not self.resolved_store_url.startswith("s3://"):
            raise ConfigError("BASTIDE_ENV=prod needs BASTIDE_STORE_URL=s3://bucket/prefix")


def load_settings(**overrides: Any) -> Settings:
    try:
        return Settings(**overrides)
    except ConfigError:
        raise
    except Exception as exc:  # pydantic ValidationError: say which setting is wrong
        raise ConfigError(f"invalid configuration: {exc}") from exc


class _FileOnly(Settings):
    """Settings from a file and nothing else: another deployment's (a migration's target), which
    must not pick up this one's BASTIDE_* environment."""

    @classmethod
    def settings_customise_sources(cls, settings_cls, init_settings, env_settings, dotenv_settings, file_secret_settings):
        return (init_settings,)


def settings_of_file(path: Path) -> Settings:
    """Another deployment's settings, from a TOML file (a [bastide] table) that names its `home`."""
    data = _read_toml(path)
    if "home" not in data:
        raise ConfigError(f"{path} must name the deployment's `home` (its folder): the default would be this one's")
    try:
        return _FileOnly(**data)
    except Exception as exc:
        raise ConfigError(f"invalid configuration in {path}: {exc}") from exc


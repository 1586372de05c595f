"""Every place outside this process a deployment talks to, read from its settings alone (what
it is configured to reach is all it may reach: the test of outbound connections holds it to
that)."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from sqlalchemy.engine import make_url

from bastide.config import Settings

AWS_S3 = "s3.amazonaws.com"  # where an S3 client goes when no endpoint is named


@dataclass(frozen=True)
class Endpoint:
    kind: str  # database, object store, backup store, HSM, mail relay, Spark cluster, public address
    address: str  # what the register is matched against: a host, pkcs11:token=…, or "localhost"
    detail: str  # what else says where (a port, a path, a bucket), never a credential


def endpoints(settings: Settings) -> list[Endpoint]:
    found = [_database(settings), _store("object store", settings.resolved_store_url, settings.s3_endpoint,
                                         settings.s3_region)]
    if settings.backup_s3_endpoint:
        found.append(Endpoint("backup store", _host(settings.backup_s3_endpoint), settings.backup_s3_endpoint))
    if settings.key_backend == "pkcs11":
        found.append(Endpoint("HSM", f"pkcs11:token={settings.pkcs11_token_label}", str(settings.pkcs11_module)))
    else:
        found.append(Endpoint("key files", "localhost", str(settings.resolved_master_key_file.parent)))
    if settings.mail_url:
        parts = urlsplit(settings.mail_url)
        found.append(Endpoint("mail relay", parts.hostname or "", f"{parts.scheme}://{parts.hostname}:{parts.port or ''}"))
    else:
        found.append(Endpoint("mail", "localhost", "written to home/outbox (no relay)"))
    if settings.engine == "spark" and not settings.spark_master.startswith("local"):
        found.append(Endpoint("Spark cluster", _host(settings.spark_master.removeprefix("k8s://")), settings.spark_master))
    found.append(Endpoint("public address", _host(settings.public_url), settings.public_url))
    found.append(Endpoint("identity provider", "localhost", "built in: accounts, passwords and second factors are "
                                                            "the platform's own"))
    return found


def _database(settings: Settings) -> Endpoint:
    url = make_url(settings.resolved_database_url)
    if url.get_backend_name() == "sqlite":
        return Endpoint("database", "localhost", f"SQLite file {url.database}")
    return Endpoint("database", url.host or "localhost", f"{url.get_backend_name()} {url.host}:{url.port or ''}/"
                                                         f"{url.database}")


def _store(kind: str, url: str, endpoint: str | None, region: str) -> Endpoint:
    if not url.startswith("s3://"):
        return Endpoint(kind, "localhost", f"folder {url}")
    if not endpoint:
        return Endpoint(kind, AWS_S3, f"{url} on Amazon S3 ({region}): no endpoint is set")
    return Endpoint(kind, _host(endpoint), f"{url} on {endpoint}")


def _host(url: str) -> str:
    parts = urlsplit(url if "://" in url else f"//{url}")
    return parts.hostname or url

"""S3-compatible object storage (a SecNumCloud provider's, or SeaweedFS in tests)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow.fs as pafs

from bastide.errors import ConfigError
from bastide.storage.base import ArrowStore

if TYPE_CHECKING:
    from bastide.config import Settings


def s3_filesystem(settings: Settings, *, backup: bool = False) -> pafs.S3FileSystem:
    """The S3 endpoint and credentials of the settings (the store's, and s3:// deliveries'), or
    the backup endpoint's when `backup` and one is set."""
    endpoint, access, secret = settings.s3_endpoint, settings.s3_access_key, settings.s3_secret_key
    if backup and settings.backup_s3_endpoint:
        endpoint, access, secret = settings.backup_s3_endpoint, settings.backup_s3_access_key, settings.backup_s3_secret_key
    options: dict = {"region": settings.s3_region, "request_timeout": 30, "connect_timeout": 5}
    if endpoint:
        scheme, _, host = endpoint.partition("://")
        options.update(endpoint_override=host or scheme, scheme=scheme if host else "https")
    if access and secret:
        options.update(access_key=access.get_secret_value(), secret_key=secret.get_secret_value())
    return pafs.S3FileSystem(**options, retry_strategy=pafs.AwsStandardS3RetryStrategy(max_attempts=3))


class S3Store(ArrowStore):
    def __init__(self, url: str, fs: pafs.S3FileSystem):
        bucket_prefix = url.removeprefix("s3://").strip("/")
        if not bucket_prefix:
            raise ConfigError("BASTIDE_STORE_URL must name a bucket: s3://bucket[/prefix]")
        super().__init__(url, fs, bucket_prefix)
        self.bucket = bucket_prefix.split("/")[0]

    def put_file(self, local: Path, key: str) -> None:
        with self._errors(f"uploading {key}"):
            pafs.copy_files(str(local), self.path(key), source_filesystem=pafs.LocalFileSystem(), destination_filesystem=self.fs)
        Path(local).unlink()

    def check(self) -> None:
        with self._errors("checking the store"):
            info = self.fs.get_file_info(self.bucket)
            if info.type == pafs.FileType.NotFound:
                raise FileNotFoundError(f"bucket {self.bucket} does not exist")

"""S3-compatible object storage (a SecNumCloud provider's, or SeaweedFS in tests)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow.fs as pafs

from bastide.errors import ConfigError
from bastide.storage.base import ArrowStore

if TYPE_CHECKING:
    from bastide.config import Settings


def s3_filesystem(settings: Settings) -> pafs.S3FileSystem:
    """The S3 endpoint and credentials of the settings (the store's, and s3:// deliveries')."""
    options: dict = {"region": settings.s3_region, "request_timeout": 30, "connect_timeout": 5}
    if settings.s3_endpoint:
        scheme, _, host = settings.s3_endpoint.partition("://")
        options.update(endpoint_override=host or scheme, scheme=scheme if host else "https")
    if settings.s3_access_key and settings.s3_secret_key:
        options.update(access_key=settings.s3_access_key.get_secret_value(),
                       secret_key=settings.s3_secret_key.get_secret_value())
    return pafs.S3FileSystem(**options, retry_strategy=pafs.AwsStandardS3RetryStrategy(max_attempts=3))


class S3Store(ArrowStore):
    def __init__(self, url: str, fs: pafs.S3FileSystem):
        bucket_prefix = url.removeprefix("s3://").strip("/")
        if not bucket_prefix:
            raise ConfigError("BASTIDE_STORE_URL must name a bucket: s3://bucket[/prefix]")
        super().__init__(url, fs, bucket_prefix)
        self.bucket = bucket_prefix.split("/")[0]

    @classmethod
    def from_settings(cls, settings: Settings) -> S3Store:
        return cls(settings.resolved_store_url, s3_filesystem(settings))

    def put_file(self, local: Path, key: str) -> None:
        with self._errors(f"uploading {key}"):
            pafs.copy_files(str(local), self.path(key), source_filesystem=pafs.LocalFileSystem(), destination_filesystem=self.fs)
        Path(local).unlink()

    def check(self) -> None:
        with self._errors("checking the store"):
            info = self.fs.get_file_info(self.bucket)
            if info.type == pafs.FileType.NotFound:
                raise FileNotFoundError(f"bucket {self.bucket} does not exist")

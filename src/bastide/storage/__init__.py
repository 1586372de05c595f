"""Object storage: one protocol, a local-folder and an S3 implementation, same key layout."""

from bastide.storage.base import ObjectInfo, ObjectStore, open_store, store_at, within

__all__ = ["ObjectInfo", "ObjectStore", "open_store", "store_at", "within"]

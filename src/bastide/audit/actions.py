"""Every audit action is a `resource:action` string, listed here once."""

from enum import StrEnum


class AuditAction(StrEnum):
    PLATFORM_INIT = "platform:init"
    KEY_CREATE = "key:create"
    KEY_DESTROY = "key:destroy"
    DATASET_CREATE = "dataset:create"
    SNAPSHOT_STAGE = "snapshot:stage"
    SNAPSHOT_RESTART = "snapshot:restart"
    SNAPSHOT_PUBLISH = "snapshot:publish"
    SNAPSHOT_REJECT = "snapshot:reject"
    SNAPSHOT_VERIFY = "snapshot:verify"

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
    ORGANISATION_CREATE = "organisation:create"
    USER_CREATE = "user:create"
    USER_PASSWORD = "user:password"
    USER_MFA_ENROL = "user:mfa_enrol"
    USER_MFA_CONFIRM = "user:mfa_confirm"
    USER_MFA_RESET = "user:mfa_reset"
    USER_LOGIN = "user:login"
    USER_LOGIN_FAILED = "user:login_failed"
    USER_LOGIN_REFUSED = "user:login_refused"
    USER_UNLOCK = "user:unlock"
    USER_DISABLE = "user:disable"
    USER_TERMS = "user:accept_terms"

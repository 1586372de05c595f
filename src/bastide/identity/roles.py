"""Roles as documented lists of permissions (`resource:action`), after job-server's roles.

IAM-07: roles are differentiated; INCOMPATIBLE lists the pairs one person may not hold.
"""

from __future__ import annotations

from enum import StrEnum


class Permission(StrEnum):
    APPLICATION_CREATE = "application:create"
    APPLICATION_REVIEW = "application:review"
    APPLICATION_DECIDE = "application:decide"
    OPINION_RECORD = "opinion:record"
    OPTOUT_RECORD = "optout:record"
    CALL_MANAGE = "call:manage"
    OUTPUT_REVIEW = "output:review"
    SNAPSHOT_INGEST = "snapshot:ingest"
    USER_MANAGE = "user:manage"
    AUDIT_READ = "audit:read"
    WORKSPACE_ENTER = "workspace:enter"


class Role(StrEnum):
    RESEARCHER = "researcher"  # applicant / project member
    INSTRUCTOR = "instructor"  # access body staff
    LEGAL_RECORDER = "legal_recorder"  # records CESREES opinions, CNIL decisions
    OUTPUT_CHECKER = "output_checker"
    DATA_STEWARD = "data_operator"  # loads data (SPE-04); same name as the snapshot workflow's role
    ADMINISTRATOR = "administrator"
    AUDITOR = "auditor"


ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.RESEARCHER: frozenset({Permission.APPLICATION_CREATE, Permission.WORKSPACE_ENTER}),
    Role.INSTRUCTOR: frozenset({Permission.APPLICATION_REVIEW, Permission.APPLICATION_DECIDE, Permission.CALL_MANAGE}),
    Role.LEGAL_RECORDER: frozenset({Permission.OPINION_RECORD, Permission.OPTOUT_RECORD}),
    Role.OUTPUT_CHECKER: frozenset({Permission.OUTPUT_REVIEW}),
    Role.DATA_STEWARD: frozenset({Permission.SNAPSHOT_INGEST, Permission.OPTOUT_RECORD}),  # loads the opt-out file too
    Role.ADMINISTRATOR: frozenset({Permission.USER_MANAGE}),
    Role.AUDITOR: frozenset({Permission.AUDIT_READ}),
}

# IAM-07, SNC 9.3.f: rights one person may not combine.
INCOMPATIBLE: frozenset[frozenset[Role]] = frozenset({
    frozenset({Role.DATA_STEWARD, Role.RESEARCHER}),  # who loads data does not use it
    frozenset({Role.OUTPUT_CHECKER, Role.RESEARCHER}),  # who checks outputs does not produce them
    frozenset({Role.INSTRUCTOR, Role.RESEARCHER}),  # who instructs does not apply
    frozenset({Role.AUDITOR, Role.ADMINISTRATOR}),  # who audits does not administer
})

# IAM-01/IAM-02: these roles reach data or administration, so their accounts need MFA.
MFA_REQUIRED = frozenset(Role)


def permissions_of(roles: frozenset[str]) -> frozenset[Permission]:
    return frozenset(p for r in roles if r in Role._value2member_map_ for p in ROLE_PERMISSIONS[Role(r)])

"""A release request's states (SPE-07), after OpenSAFELY's Airlock with Azure TRE's revocation
(../shared/research/tre.md §8); docs/workflows.md is generated from this table.

Checkers vote file by file; the platform moves the request to `reviewed` once every file has
its required votes. Only then may a checker approve it (every file approved) and the platform
release it; a checker may return it (to be changed and resubmitted) or reject it at any point of
the review. Changing a file resets its votes (ReleaseFile.round)."""

from bastide.audit.actions import AuditAction as A
from bastide.statemachine import Transition, Workflow

RESEARCHER = frozenset({"researcher"})
CHECKER = frozenset({"output_checker"})
SYSTEM = frozenset({"system"})
UNDER_REVIEW = ("submitted", "partially_reviewed", "reviewed")

_T = Transition
RELEASE_WORKFLOW = Workflow(
    "release request",
    initial="draft",
    transitions=[
        _T("draft", "submit", "submitted", RESEARCHER, A.RELEASE_SUBMIT),
        _T("draft", "withdraw", "withdrawn", RESEARCHER, A.RELEASE_WITHDRAW),
        _T("submitted", "vote", "partially_reviewed", CHECKER, A.RELEASE_VOTE),
        _T("partially_reviewed", "vote", "partially_reviewed", CHECKER, A.RELEASE_VOTE),
        _T("partially_reviewed", "complete", "reviewed", SYSTEM, A.RELEASE_REVIEWED),
        _T("reviewed", "approve", "approved", CHECKER, A.RELEASE_APPROVE),
        *[_T(state, "return", "returned", CHECKER, A.RELEASE_RETURN) for state in UNDER_REVIEW],
        *[_T(state, "reject", "rejected", CHECKER, A.RELEASE_REJECT) for state in UNDER_REVIEW],
        _T("submitted", "withdraw", "withdrawn", RESEARCHER, A.RELEASE_WITHDRAW),
        _T("returned", "submit", "submitted", RESEARCHER, A.RELEASE_SUBMIT),
        _T("returned", "withdraw", "withdrawn", RESEARCHER, A.RELEASE_WITHDRAW),
        _T("approved", "release", "released", SYSTEM, A.RELEASE_RELEASE),
        _T("released", "revoke", "revoked", CHECKER, A.RELEASE_REVOKE),
    ],
)

# Bringing a file in (SPE-09): one independent checker decides.
IMPORT_WORKFLOW = Workflow(
    "import",
    initial="submitted",
    transitions=[
        _T("submitted", "approve", "approved", CHECKER, A.IMPORT_APPROVE),
        _T("submitted", "reject", "rejected", CHECKER, A.IMPORT_REJECT),
        _T("submitted", "withdraw", "withdrawn", RESEARCHER, A.IMPORT_WITHDRAW),
    ],
)

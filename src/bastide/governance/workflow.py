"""The access application lifecycle (GOV-08) as a transition table; docs/workflows.md is generated."""

from bastide.audit.actions import AuditAction as A
from bastide.statemachine import Transition, Workflow

APPLICANT = frozenset({"researcher"})
INSTRUCTOR = frozenset({"instructor"})
SYSTEM = frozenset({"system"})

# The states in which the access body has the file: the instructor's queue, and where the
# applicant may still withdraw (as from a draft).
UNDER_INSTRUCTION = ("submitted", "pre_screening", "processing", "awaiting_additional_information")

_T = Transition
APPLICATION_WORKFLOW = Workflow(
    "application",
    initial="draft",
    transitions=[
        _T("draft", "submit", "submitted", APPLICANT, A.APPLICATION_SUBMIT),
        _T("submitted", "screen", "pre_screening", INSTRUCTOR, A.APPLICATION_SCREEN),
        _T("pre_screening", "accept", "processing", INSTRUCTOR, A.APPLICATION_ACCEPT),
        _T("pre_screening", "request_information", "awaiting_additional_information", INSTRUCTOR, A.APPLICATION_ASK),
        _T("processing", "request_information", "awaiting_additional_information", INSTRUCTOR, A.APPLICATION_ASK),
        _T("awaiting_additional_information", "provide_information", "processing", APPLICANT, A.APPLICATION_ANSWER),
        _T("processing", "grant", "decision_issued", INSTRUCTOR, A.APPLICATION_GRANT),
        _T("processing", "refuse", "decision_issued", INSTRUCTOR, A.APPLICATION_REFUSE),
        *(_T(state, "withdraw", "withdrawn", APPLICANT, A.APPLICATION_WITHDRAW) for state in ("draft", *UNDER_INSTRUCTION)),
    ],
)

# GOV-11, GOV-15: a permit version is active until a new version replaces it (amendment, the
# single extension), the access body revokes it, or its end date passes (the scheduled check).
PERMIT_WORKFLOW = Workflow(
    "permit",
    initial="active",
    transitions=[
        _T("active", "amend", "superseded", INSTRUCTOR, A.PERMIT_AMEND),
        _T("active", "extend", "superseded", INSTRUCTOR, A.PERMIT_EXTEND),
        _T("active", "revoke", "revoked", INSTRUCTOR, A.PERMIT_REVOKE),
        _T("active", "expire", "expired", SYSTEM, A.PERMIT_EXPIRE),
    ],
)

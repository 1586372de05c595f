"""The access application lifecycle (GOV-08) as a transition table; docs/workflows.md is generated."""

from bastide.audit.actions import AuditAction as A
from bastide.statemachine import Transition, Workflow

APPLICANT = frozenset({"researcher"})
INSTRUCTOR = frozenset({"instructor"})

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
        _T("draft", "withdraw", "withdrawn", APPLICANT, A.APPLICATION_WITHDRAW),
        _T("submitted", "withdraw", "withdrawn", APPLICANT, A.APPLICATION_WITHDRAW),
        _T("pre_screening", "withdraw", "withdrawn", APPLICANT, A.APPLICATION_WITHDRAW),
        _T("processing", "withdraw", "withdrawn", APPLICANT, A.APPLICATION_WITHDRAW),
        _T("awaiting_additional_information", "withdraw", "withdrawn", APPLICANT, A.APPLICATION_WITHDRAW),
    ],
)

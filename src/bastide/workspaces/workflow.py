"""A workspace's lifecycle (SPE-11, GOV-15) as a transition table; docs/workflows.md is generated."""

from bastide.audit.actions import AuditAction as A
from bastide.statemachine import Transition, Workflow

SYSTEM = frozenset({"system"})
OPERATOR = frozenset({"system", "data_operator"})

_T = Transition
WORKSPACE_WORKFLOW = Workflow(
    "workspace",
    initial="provisioning",
    transitions=[
        _T("provisioning", "ready", "ready", OPERATOR, A.WORKSPACE_READY),
        _T("provisioning", "fail", "failed", OPERATOR, A.WORKSPACE_FAIL),
        _T("failed", "provision", "provisioning", OPERATOR, A.WORKSPACE_PROVISION),
        _T("ready", "provision", "provisioning", OPERATOR, A.WORKSPACE_PROVISION),  # the permit was amended
        _T("ready", "lock", "locked", SYSTEM, A.WORKSPACE_LOCK),  # the permit was revoked or expired
        _T("locked", "shred", "shredded", OPERATOR, A.WORKSPACE_SHRED),  # after the retention period
    ],
)

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

RESEARCHER = frozenset({"researcher"})

# A job's states (SPE-10); the runner moves it, the researcher may cancel a queued one.
JOB_WORKFLOW = Workflow(
    "job",
    initial="queued",
    transitions=[
        _T("queued", "start", "running", SYSTEM, A.JOB_START),
        _T("queued", "cancel", "killed", RESEARCHER | SYSTEM, A.JOB_KILL),
        _T("queued", "fail", "failed", SYSTEM, A.JOB_FAIL),  # it could not start, or its process ended first
        _T("running", "succeed", "succeeded", SYSTEM, A.JOB_SUCCEED),
        _T("running", "fail", "failed", SYSTEM, A.JOB_FAIL),
        _T("running", "kill", "killed", SYSTEM, A.JOB_KILL),  # wall time, or the workspace locked
    ],
)

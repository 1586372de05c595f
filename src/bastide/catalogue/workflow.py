"""The snapshot lifecycle as a transition table (docs/workflows.md is generated from it)."""

from bastide.audit.actions import AuditAction
from bastide.statemachine import Transition, Workflow

DATA_OPERATOR = "data_operator"  # SPE-04: the named operators who may load hosted data

SNAPSHOT_WORKFLOW = Workflow(
    "snapshot",
    initial="staging",
    transitions=[
        Transition("staging", "publish", "published", frozenset({DATA_OPERATOR}), AuditAction.SNAPSHOT_PUBLISH),
        # the system rejects an ingest whose process ended (bastide.recovery)
        Transition("staging", "reject", "rejected", frozenset({DATA_OPERATOR, "system"}), AuditAction.SNAPSHOT_REJECT),
        Transition("staging", "restart", "staging", frozenset({DATA_OPERATOR}), AuditAction.SNAPSHOT_RESTART),
        Transition("rejected", "restart", "staging", frozenset({DATA_OPERATOR}), AuditAction.SNAPSHOT_RESTART),
    ],
)

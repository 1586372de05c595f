"""The one way a workflow's subject changes state: check the transition (state and actor) in
the table, set the new state, record the audit event in the same transaction."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from bastide.audit.service import record
from bastide.statemachine import Actor, Transition, Workflow


def apply(session: Session, workflow: Workflow, subject: Any, *, action: str, actor: Actor, target: str,
          details: dict | None = None) -> Transition:
    """Move `subject` (anything with a `status`) by `action`; `target` names it in the audit trail."""
    transition = workflow.check(subject.status, action, actor)
    subject.status = transition.target
    record(session, actor=actor, action=transition.audit_action, target=target,
           details={"to": transition.target, **(details or {})})
    return transition

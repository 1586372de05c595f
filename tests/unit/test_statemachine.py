from pathlib import Path

import pytest

from bastide.audit.actions import AuditAction
from bastide.catalogue.workflow import DATA_OPERATOR, SNAPSHOT_WORKFLOW
from bastide.errors import TransitionNotAllowed
from bastide.statemachine import Actor

OPERATOR = Actor("operator:alice", frozenset({DATA_OPERATOR}))
OUTSIDER = Actor("user:bob", frozenset({"researcher"}))
DOCS = Path(__file__).parents[2] / "docs" / "workflows.md"


def test_allowed_transition_returns_target_and_audit_action():
    t = SNAPSHOT_WORKFLOW.check("staging", "publish", OPERATOR)
    assert (t.target, t.audit_action) == ("published", AuditAction.SNAPSHOT_PUBLISH)


def test_wrong_state_is_refused():
    with pytest.raises(TransitionNotAllowed, match="cannot publish a snapshot that is published"):
        SNAPSHOT_WORKFLOW.check("published", "publish", OPERATOR)


def test_actor_without_role_is_refused_deny_by_default():  # SPE-04
    with pytest.raises(TransitionNotAllowed) as exc:
        SNAPSHOT_WORKFLOW.check("staging", "publish", OUTSIDER)
    assert exc.value.code == "forbidden"


def test_every_transition_has_an_audit_action_and_an_owner():
    for t in SNAPSHOT_WORKFLOW.transitions:
        assert isinstance(t.audit_action, AuditAction)
        assert t.roles
    owned = {t.source for t in SNAPSHOT_WORKFLOW.transitions} | {t.target for t in SNAPSHOT_WORKFLOW.transitions}
    assert SNAPSHOT_WORKFLOW.states == owned


def test_the_workflows_page_is_what_the_seven_tables_generate():
    """Every workflow's table and diagram, not only the snapshot's (issue 14: the test covered one of seven)."""
    from bastide.docs import WORKFLOWS, workflows_markdown

    assert len(WORKFLOWS) == 7
    assert DOCS.read_text() == workflows_markdown(), "stale: run python -m bastide.docs to regenerate"

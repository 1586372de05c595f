"""Regenerate the generated parts of docs/: `python -m bastide.docs`."""

from pathlib import Path

from bastide.airlock.workflow import IMPORT_WORKFLOW, RELEASE_WORKFLOW
from bastide.catalogue.workflow import SNAPSHOT_WORKFLOW
from bastide.governance.workflow import APPLICATION_WORKFLOW, PERMIT_WORKFLOW
from bastide.workspaces.workflow import JOB_WORKFLOW, WORKSPACE_WORKFLOW

WORKFLOWS = [SNAPSHOT_WORKFLOW, APPLICATION_WORKFLOW, PERMIT_WORKFLOW, WORKSPACE_WORKFLOW, JOB_WORKFLOW,
             RELEASE_WORKFLOW, IMPORT_WORKFLOW]


def workflows_markdown() -> str:
    parts = ["# Workflows\n\nGenerated from the transition tables by `python -m bastide.docs`; a test fails when stale.\n"]
    for wf in WORKFLOWS:
        parts.append(f"\n## {wf.name}\n\n| from | action | to | who may act | audit action |\n|---|---|---|---|---|\n")
        for t in wf.transitions:
            parts.append(f"| {t.source} | {t.action} | {t.target} | {', '.join(sorted(t.roles))} | `{t.audit_action}` |\n")
        parts.append(f"\n```mermaid\n{wf.to_mermaid()}```\n")
    return "".join(parts)


if __name__ == "__main__":
    target = Path(__file__).parents[2] / "docs" / "workflows.md"
    target.write_text(workflows_markdown())
    print(f"wrote {target}")

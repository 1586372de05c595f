"""An output seen inside its workspace (issue 13; EHDS Art. 73(1)(e)): a screen view, never a
download. Only text outputs are shown, their first lines: at most `workspace_query_rows`
lines and `workspace_query_size` bytes, within the person's daily quota of rows shown (each
line counts as a row); the read is audited with the output's hash. The whole file leaves only
through the airlock. Nothing else serves an output's bytes to a project's own persons."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePosixPath

from bastide.audit.actions import AuditAction
from bastide.audit.service import record
from bastide.config import bytes_of
from bastide.errors import NotFound
from bastide.keys.sealed import head_sealed
from bastide.platform import Platform
from bastide.statemachine import Actor
from bastide.workspaces import screen
from bastide.workspaces.models import Output
from bastide.workspaces.query import admit, allowance
from bastide.workspaces.service import get_workspace, target

TEXT = (".csv", ".tsv", ".txt", ".md", ".json", ".log")


@dataclass(frozen=True)
class OutputView:
    output_id: int
    name: str
    text: str  # the lines shown ("" when not shown)
    lines: int
    truncated_by: str | None  # rows, bytes or quota: more lines exist than were shown
    shown: bool
    reason: str | None = None  # why nothing is shown
    quota_left: int | None = None


def workspace_output(session, ws_id: int, output_id: int) -> Output:
    output = session.get(Output, output_id)
    if output is None or output.workspace_id != ws_id:
        raise NotFound(f"no output {output_id} in this workspace")
    return output


def view_output(platform: Platform, *, actor: Actor, ws_id: int, output_id: int) -> OutputView:
    settings = platform.settings
    admit(platform, actor=actor, ws_id=ws_id)
    with platform.db.unit_of_work() as session:
        output = workspace_output(session, ws_id, output_id)
        if PurePosixPath(output.name).suffix.lower() not in TEXT:
            return OutputView(output.id, output.name, "", 0, None, False,
                              "only text outputs are shown in the workspace: this one leaves through the airlock")
    left = allowance(platform, actor, ws_id)
    cap, size = min(settings.workspace_query_rows, left), bytes_of(settings.workspace_query_size)
    with platform.db.unit_of_work() as session:
        output = workspace_output(session, ws_id, output_id)
        head = head_sealed(session, store=platform.store, keys=platform.keys, key_id=output.key_id,
                           where=output.key, limit=size + 1)
        text, lines, truncated = _first_lines(head, cap, size)
        if truncated == "rows" and cap < settings.workspace_query_rows:
            truncated = "quota"
        screen.charge(session, ws_id=ws_id, person=actor.id, rows=lines)
        record(session, actor=actor, action=AuditAction.OUTPUT_VIEW, target=target(get_workspace(session, ws_id)),
               details={"output": output.id, "name": output.name, "sha256": output.sha256, "lines": lines,
                        "bytes": len(text.encode()), "egress": "screen-view"})
        return OutputView(output.id, output.name, text, lines, truncated, True, quota_left=left - lines)


def _first_lines(head: bytes, cap: int, size: int) -> tuple[str, int, str | None]:
    """At most `cap` whole lines within `size` bytes of the file's beginning, and why it was cut."""
    lines = head[:size].decode("utf-8", "replace").splitlines(keepends=True)
    cut_by_bytes = len(head) > size
    if cut_by_bytes and lines and not lines[-1].endswith("\n") and len(lines) > 1:
        lines = lines[:-1]  # a line cut in the middle is not shown
    kept = lines[:cap]
    if len(lines) > cap:
        return "".join(kept), len(kept), "rows"
    return "".join(kept), len(kept), "bytes" if cut_by_bytes else None

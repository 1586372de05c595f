"""The signed-in callers a route may ask for, by what they may do: one definition for the API and
the pages (each a route parameter: `who: Reviewer`). Which role holds which permission is
identity/roles.py; these name the groups of permissions the routes share."""

from __future__ import annotations

from bastide.gate.request import who
from bastide.identity.roles import Permission as P

# governance
ApplicationReader = who(P.APPLICATION_CREATE, P.APPLICATION_REVIEW, P.OPINION_RECORD)
Applicant = who(P.APPLICATION_CREATE)
Mover = who(P.APPLICATION_CREATE, P.APPLICATION_REVIEW, P.APPLICATION_DECIDE)
Reviewer = who(P.APPLICATION_REVIEW)
Decider = who(P.APPLICATION_DECIDE)
Recorder = who(P.OPINION_RECORD)
PermitReader = who(P.APPLICATION_CREATE, P.APPLICATION_REVIEW)
CallManager = who(P.CALL_MANAGE)

# workspaces and the airlock
Member = who(P.WORKSPACE_ENTER)
WorkspaceViewer = who(P.WORKSPACE_ENTER, P.SNAPSHOT_INGEST)
Checker = who(P.OUTPUT_REVIEW)
ReleaseReader = who(P.WORKSPACE_ENTER, P.OUTPUT_REVIEW)

# accounts
Administrator = who(P.USER_MANAGE)

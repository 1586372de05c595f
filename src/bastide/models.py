"""Every domain's models, imported once so Alembic and tests see one metadata."""

from bastide.airlock.models import ImportRequest, Release, ReleasedTable, ReleaseFile, ReleaseRequest, ReleaseVote
from bastide.audit.models import AuditEvent, AuditHead
from bastide.catalogue.models import Dataset, Snapshot, SnapshotSource, SnapshotTable, Variable
from bastide.governance.models import Application, CallForProjects, OptOut, Permit, Score
from bastide.identity.models import ApiToken, Organisation, User, WebSession
from bastide.keys.models import DataKey
from bastide.notices.models import Notice
from bastide.workspaces.models import Extract, Job, Output, Workspace
from bastide.worker.models import Lease, WorkerProcess

__all__ = [
    "ApiToken", "Application", "AuditEvent", "AuditHead", "CallForProjects", "DataKey", "Dataset", "OptOut",
    "Organisation", "Permit", "Score", "Snapshot", "SnapshotSource", "SnapshotTable", "User", "Variable", "WebSession",
    "Extract", "Job", "Output", "Workspace", "Release", "ReleasedTable", "ReleaseFile", "ReleaseRequest",
    "ReleaseVote", "ImportRequest", "Lease", "WorkerProcess", "Notice",
]

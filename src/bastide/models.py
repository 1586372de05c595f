"""Every domain's models, imported once so Alembic and tests see one metadata."""

from bastide.audit.models import AuditEvent, AuditHead
from bastide.governance.models import Application, Permit
from bastide.identity.models import Organisation, User
from bastide.catalogue.models import Dataset, Snapshot, SnapshotSource, SnapshotTable, Variable
from bastide.keys.models import DataKey

__all__ = [
    "Application", "Permit","AuditEvent", "AuditHead", "DataKey", "Dataset", "Organisation", "User", "Snapshot", "SnapshotSource", "SnapshotTable", "Variable"]

"""Every domain's models, imported once so Alembic and tests see one metadata."""

from bastide.audit.models import AuditEvent, AuditHead
from bastide.catalogue.models import Dataset, Snapshot, SnapshotSource, SnapshotTable, Variable
from bastide.keys.models import DataKey

__all__ = ["AuditEvent", "AuditHead", "DataKey", "Dataset", "Snapshot", "SnapshotSource", "SnapshotTable", "Variable"]

"""Files brought into a workspace (SPE-09). The airlock's import lane scans a file and has an
independent checker decide on it; once approved, it hands the file over here (`hand_over`): the
workspace keeps where the sealed file lies and its hash, and each job finds the files read-only at
/data/imports. The workspace never asks the airlock: the airlock builds on workspaces, not the
other way round (issue 18, item 12)."""

from __future__ import annotations

import hashlib

from sqlalchemy import select
from sqlalchemy.orm import Session

from bastide.db import utcnow
from bastide.errors import Conflict
from bastide.keys.sealed import get_sealed
from bastide.platform import Platform
from bastide.workspaces.models import BroughtFile, Workspace


def hand_over(session: Session, *, ws: Workspace, name: str, key: str, key_id: str, sha256: str, size: int,
              source: str) -> BroughtFile:
    """Record an approved file as the workspace's (in the caller's transaction, which audits the
    approval that hands it over)."""
    row = BroughtFile(workspace_id=ws.id, name=name, key=key, key_id=key_id, sha256=sha256, size=size, source=source,
                      created_at=utcnow())
    session.add(row)
    return row


def files(session: Session, *, platform: Platform, ws_id: int) -> dict[str, bytes]:
    """The workspace's brought-in files by name, the newest of a name winning; each checked
    against the hash it was approved with."""
    rows = session.execute(select(BroughtFile).where(BroughtFile.workspace_id == ws_id)
                           .order_by(BroughtFile.id)).scalars()
    found: dict[str, bytes] = {}
    for row in rows:
        data = get_sealed(session, store=platform.store, keys=platform.keys, key_id=row.key_id, where=row.key)
        if hashlib.sha256(data).hexdigest() != row.sha256:
            raise Conflict(f"{row.name} changed since it was approved ({row.source})", code="integrity")
        found[row.name] = data
    return found

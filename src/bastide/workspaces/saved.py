"""Queries kept by name in a workspace (issue 18, item 8): the SQL console's "keep this query".
The project's persons share them (a colleague's query is a starting point); each person changes
or forgets only their own. Only the text is kept, never a result: running one is a query like any
other (sealed, capped, counted, audited)."""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from bastide.audit.actions import AuditAction
from bastide.audit.service import record
from bastide.db import utcnow
from bastide.errors import Conflict, InvalidInput, NotFound
from bastide.governance.form import check_text
from bastide.identity.policy import Forbidden
from bastide.statemachine import Actor
from bastide.workspaces import service as workspaces
from bastide.workspaces.models import SavedQuery, Workspace
from bastide.workspaces.query import members

NAME = re.compile(r"^[\w][\w .()-]{0,99}$")  # letters (accents too), digits, spaces, . - ( ) _
MAX_SQL = 100_000


def _check_member(actor: Actor, ws: Workspace) -> None:
    if actor.id.removeprefix("user:") not in members(ws):
        raise Forbidden(f"{actor.id} is not named on the permit of {ws.reference}")


def list_saved(session: Session, ws: Workspace) -> list[SavedQuery]:
    return list(session.execute(select(SavedQuery).where(SavedQuery.workspace_id == ws.id)
                                .order_by(SavedQuery.name)).scalars())


def keep(session: Session, *, actor: Actor, ws: Workspace, name: str, sql: str) -> SavedQuery:
    """Keep `sql` as `name`; the same name again replaces the author's own query."""
    _check_member(actor, ws)
    name, sql = name.strip(), sql.strip()
    if not NAME.match(name):
        raise InvalidInput("a query's name is 1 to 100 letters, digits, spaces or . - ( ) _",
                           details={"field": "query_name"}, code="query_name_format")
    if not sql or len(sql) > MAX_SQL:
        raise InvalidInput(f"write the query to keep (at most {MAX_SQL} characters)",
                           details={"field": "sql", "max": MAX_SQL}, code="query_length")
    check_text("sql", sql)
    row = session.execute(select(SavedQuery).where(SavedQuery.workspace_id == ws.id, SavedQuery.name == name)
                          ).scalar_one_or_none()
    now = utcnow()
    if row is None:
        row = SavedQuery(workspace_id=ws.id, name=name, author=actor.id, sql=sql, created_at=now, updated_at=now)
        session.add(row)
    elif row.author != actor.id:
        raise Conflict(f"{row.author} keeps a query named {name!r} here: choose another name",
                       details={"field": "query_name"}, code="name_taken")
    else:
        row.sql, row.updated_at = sql, now
    session.flush()
    record(session, actor=actor, action=AuditAction.QUERY_KEEP, target=workspaces.target(ws),
           details={"query": row.id, "name": name, "characters": len(sql)})
    return row


def forget(session: Session, *, actor: Actor, ws: Workspace, query_id: int) -> None:
    _check_member(actor, ws)
    row = session.get(SavedQuery, query_id)
    if row is None or row.workspace_id != ws.id:
        raise NotFound(f"no kept query {query_id} in {ws.reference}")
    if row.author != actor.id:
        raise Forbidden(f"{row.name!r} is {row.author}'s: each person forgets only their own queries")
    record(session, actor=actor, action=AuditAction.QUERY_FORGET, target=workspaces.target(ws),
           details={"query": row.id, "name": row.name})
    session.delete(row)

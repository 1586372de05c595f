"""What waits for a person, by role (issue 18, item 5): the home page each user lands on.

Each role the person holds gives one or more sections, each a list of items with what the person
is to do about them and by when; a role they do not hold gives nothing (so nothing is shown that
they could not act on). Reads only: the domains' own queries and permission rules decide what
each role sees."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from bastide.airlock import comments, imports
from bastide.airlock import service as airlock
from bastide.airlock.workflow import UNDER_REVIEW
from bastide.audit import checkpoints
from bastide.audit.models import AuditHead
from bastide.catalogue.models import Snapshot
from bastide.db import utcnow
from bastide.governance import service as gov
from bastide.governance.models import Application
from bastide.identity.models import User
from bastide.identity.roles import Role
from bastide.statemachine import Actor
from bastide.workspaces import query
from bastide.workspaces.models import Workspace

ENDING_SOON = timedelta(days=30)  # an account whose rights end within this is the administrators' to renew
ACTIVE_APPLICATION = ("draft", "submitted", "pre_screening", "processing", "awaiting_additional_information")


@dataclass(frozen=True)
class Item:
    kind: str  # application | workspace | release | import | account | snapshot | chain
    id: int | None
    reference: str
    title: str
    status: str
    todo: str  # what the person is to do, as a message key: "answer", "vote", "record_opinion"…
    due: date | None = None
    overdue: bool = False


@dataclass(frozen=True)
class Section:
    role: str
    key: str  # the section's title, as a message key
    items: list[Item]


def for_person(session: Session, *, actor: Actor, user: User, now: datetime | None = None) -> list[Section]:
    """The sections of every role `user` holds, in the order of the roles."""
    now = now or utcnow()
    sections: list[Section] = []
    for role in Role:
        if role.value in actor.roles:
            sections += BY_ROLE[role](session, actor, user, now)
    return sections


def _researcher(session: Session, actor: Actor, user: User, now: datetime) -> list[Section]:
    mine = [a for a in gov.visible_applications(session, actor=actor) if a.status in ACTIVE_APPLICATION]
    applications = [_application(a, {"draft": "complete_and_submit",
                                     "awaiting_additional_information": "answer"}.get(a.status, "wait"), now)
                    for a in mine]
    spaces = [ws for ws in session.execute(select(Workspace).where(Workspace.status != "shredded")
                                           .order_by(Workspace.id)).scalars()
              if user.email.lower() in query.members(ws)]
    workspaces = [Item("workspace", ws.id, ws.reference, ws.application.title, ws.status,
                       "work" if ws.status == "ready" else "wait") for ws in spaces]
    requests = [Item("release", r.id, r.reference, r.title, r.status, "complete_and_submit" if r.status == "draft"
                     else "answer" if r.status == "returned" else "read_comment" if comments.checkers_spoke_last(r)
                     else "wait")
                for ws in spaces for r in airlock.list_requests(session, ws=ws,
                                                                 status=("draft", "returned", *UNDER_REVIEW))]
    return [Section("researcher", "my_applications", applications), Section("researcher", "my_workspaces", workspaces),
            Section("researcher", "my_release_requests", requests)]


def _application(app: Application, todo: str, now: datetime, due: datetime | None = None) -> Item:
    return Item("application", app.id, app.reference, app.title, app.status, todo,
                due.date() if due else None, bool(due and due < now))


def _instructor(session: Session, actor: Actor, _user: User, now: datetime) -> list[Section]:
    todo = {"submitted": "screen", "pre_screening": "screen", "processing": "decide",
            "awaiting_additional_information": "wait"}
    return [Section("instructor", "to_instruct", [_application(a, todo.get(a.status, "wait"), now, due)
                                                   for a, due in gov.instructor_queue(session, actor=actor, now=now)])]


def _legal_recorder(session: Session, _actor: Actor, _user: User, now: datetime) -> list[Section]:
    """Applications under processing whose CESREES opinion or CNIL decision is not recorded yet (GOV-22)."""
    apps = session.execute(select(Application).where(Application.status == "processing")
                           .order_by(Application.id)).scalars()
    return [Section("legal_recorder", "opinions_to_record",
                    [_application(a, "record_opinion", now) for a in apps
                     if a.ethics_opinion is None or a.cnil_decision is None])]


def _output_checker(session: Session, actor: Actor, _user: User, _now: datetime) -> list[Section]:
    """Requests this checker may review (independent of the project) with a file they have not voted
    on in its current round, then those reviewed and waiting for a decision; files asked in."""
    waiting = [r for r in airlock.list_requests(session, status=UNDER_REVIEW) if airlock.independent(actor, r)]
    reviews = []
    for r in reversed(waiting):  # oldest first: they have waited longest
        unvoted = any(actor.id not in {v.reviewer for v in airlock.current_votes(f)} for f in r.files)
        if unvoted or r.status == "reviewed":
            reviews.append(Item("release", r.id, r.reference, r.title, r.status,
                                "vote" if unvoted else "decide"))
        elif comments.answered(r, actor):  # the project answered what this checker asked
            reviews.append(Item("release", r.id, r.reference, r.title, r.status, "read_answer"))
    asked_in = [Item("import", i.id, i.reference, i.name, i.status, "decide")
                for i in reversed(imports.list_imports(session, status=("submitted",))) if airlock.independent(actor, i)]
    return [Section("output_checker", "outputs_to_review", reviews), Section("output_checker", "imports_to_review", asked_in)]


def _administrator(session: Session, _actor: Actor, _user: User, now: datetime) -> list[Section]:
    """Accounts that need an administrator: locked, a full reset to approve, rights ending soon."""
    items = []
    for u in session.execute(select(User).where(User.disabled_at.is_(None)).order_by(User.email)).scalars():
        if u.locked_at is not None:
            items.append(Item("account", u.id, u.email, u.name, "locked", "unlock"))
        elif u.reset_requested_by is not None and u.activation_kind == "full":
            items.append(Item("account", u.id, u.email, u.name, "reset_requested", "approve_reset"))
        elif u.end_of_rights <= (now + ENDING_SOON).date():
            items.append(Item("account", u.id, u.email, u.name, "rights_ending", "renew_or_let_end",
                              u.end_of_rights, u.end_of_rights < now.date()))
    return [Section("administrator", "accounts_to_see", items)]


def _auditor(session: Session, _actor: Actor, _user: User, _now: datetime) -> list[Section]:
    """The trail's length and its last signed checkpoint: events after it are not yet held outside."""
    head, last = session.get(AuditHead, 1), checkpoints.latest(session)
    events = head.last_id if head is not None else 0
    signed = last.events if last is not None else 0
    return [Section("auditor", "audit_trail", [Item("chain", None, f"{events:,}", "", "signed" if signed == events
                                                    else "unsigned_events", "verify",
                                                    last.at.date() if last is not None else None)])]


def _data_operator(session: Session, _actor: Actor, _user: User, now: datetime) -> list[Section]:
    """Snapshots being ingested, and those rejected in the last month (to deliver again)."""
    recent = now - ENDING_SOON
    rows = session.execute(select(Snapshot).where((Snapshot.status == "staging") |
                                                  ((Snapshot.status == "rejected") & (Snapshot.created_at >= recent)))
                           .order_by(Snapshot.id.desc())).scalars()
    return [Section("data_operator", "snapshots_to_see",
                    [Item("snapshot", s.id, s.ref, s.ref, s.status, "wait" if s.status == "staging" else "deliver_again")
                     for s in rows])]


BY_ROLE = {Role.RESEARCHER: _researcher, Role.INSTRUCTOR: _instructor, Role.LEGAL_RECORDER: _legal_recorder,
           Role.OUTPUT_CHECKER: _output_checker, Role.DATA_STEWARD: _data_operator, Role.ADMINISTRATOR: _administrator,
           Role.AUDITOR: _auditor}


"""Signed checkpoints of the audit chain, held outside the database (issue 14 "Why" 7; AUD-05).

A hash chain alone proves nothing to whoever can rewrite it whole: on a copy of the database,
the last 171 events were deleted and the rest re-hashed, and `bastide audit verify` passed. So
every `BASTIDE_AUDIT_CHECKPOINT_EVENTS` events or `BASTIDE_AUDIT_CHECKPOINT_SECONDS` (whichever
comes first, by the server's scheduled check or `bastide audit checkpoint`), the platform signs
(length of the chain, hash of its last event, time) with its Ed25519 key. Checkpoints are
published (`GET /api/audit/checkpoints`, public) and exported to data holders
(`bastide audit checkpoints --out FILE`); `bastide audit verify` checks the chain against them —
each checkpoint's hash must be the chain's at its length, and the chain may not be shorter than
the last one — from the database's own or, offline, from an exported file and the public key.

What a checkpoint cannot see: events deleted after the last one published. Their window is the
interval between checkpoints."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bastide.audit.actions import AuditAction
from bastide.audit.models import AuditCheckpoint, AuditEvent, AuditHead
from bastide.audit.service import record
from bastide.db import utcnow
from bastide.keys.signing import Signer, canonical, signature_valid
from bastide.statemachine import SYSTEM

FORMAT = "bastide-audit-checkpoint/1"


@dataclass(frozen=True)
class Checkpoint:
    events: int
    head: str
    at: str
    signature: str

    def document(self) -> dict:
        return {"format": FORMAT, "events": self.events, "head": self.head, "at": self.at}

    def to_dict(self) -> dict:
        return {**self.document(), "signature": self.signature}

    def signed_by(self, public_pem: str) -> bool:
        try:
            signature = base64.b64decode(self.signature)
        except ValueError:
            return False
        return signature_valid(public_pem, canonical(self.document()), signature)


def due(session: Session, *, every_events: int, every_seconds: int) -> bool:
    """Whether the chain grew since the last checkpoint by `every_events`, or at all for `every_seconds`."""
    head = session.get(AuditHead, 1)
    if head is None:
        return False
    last = latest(session)
    if last is None:
        return True
    grown = head.last_id - last.events
    return grown >= every_events or (grown > 0 and utcnow() - last.at >= timedelta(seconds=every_seconds))


def checkpoint(session: Session, *, signer: Signer) -> Checkpoint:
    """Sign the chain as it is now, this checkpoint's own event included (it is an event too)."""
    record(session, actor=SYSTEM, action=AuditAction.AUDIT_CHECKPOINT, target="audit:chain")
    head = session.get(AuditHead, 1)
    at = utcnow()
    document = {"format": FORMAT, "events": head.last_id, "head": head.last_hash, "at": at.isoformat()}
    signature = base64.b64encode(signer.sign(canonical(document))).decode()
    session.add(AuditCheckpoint(events=head.last_id, head=head.last_hash, at=at, signature=signature))
    return Checkpoint(head.last_id, head.last_hash, at.isoformat(), signature)


def latest(session: Session) -> AuditCheckpoint | None:
    return session.execute(select(AuditCheckpoint).order_by(AuditCheckpoint.events.desc()).limit(1)).scalar_one_or_none()


def published(session: Session) -> list[Checkpoint]:
    rows = session.execute(select(AuditCheckpoint).order_by(AuditCheckpoint.events)).scalars()
    return [Checkpoint(r.events, r.head, r.at.isoformat(), r.signature) for r in rows]


def export(checkpoints: list[Checkpoint], public_pem: str) -> str:
    """What a data holder keeps: every checkpoint and the key they were signed with."""
    return json.dumps({"format": FORMAT, "public_key": public_pem,
                       "checkpoints": [c.to_dict() for c in checkpoints]}, indent=1) + "\n"


def imported(text: str) -> list[Checkpoint]:
    """Checkpoints from an exported file (their signatures are checked by `against`)."""
    data = json.loads(text)
    if data.get("format") != FORMAT:
        raise ValueError(f"not a file of {FORMAT} checkpoints")
    return [Checkpoint(int(c["events"]), str(c["head"]), str(c["at"]), str(c["signature"]))
            for c in data["checkpoints"]]


@dataclass(frozen=True)
class Comparison:
    checked: int  # how many checkpoints held
    problem: str | None = None

    @property
    def ok(self) -> bool:
        return self.problem is None


def against(session: Session, checkpoints: list[Checkpoint], *, public_pem: str) -> Comparison:
    """The chain in the database against signed checkpoints: each signature must hold, the chain
    must be at least as long as the last, and its event at each checkpoint's length must carry
    that checkpoint's hash."""
    length = session.execute(select(func.count()).select_from(AuditEvent)).scalar_one()
    for done, point in enumerate(sorted(checkpoints, key=lambda c: c.events)):
        if not point.signed_by(public_pem):
            return Comparison(done, f"the checkpoint at {point.events} events ({point.at}) is not signed by this "
                                    "key: it was forged or altered")
        if length < point.events:
            return Comparison(done, f"the chain has {length} events, but a checkpoint of {point.at} counted "
                                    f"{point.events}: events were deleted")
        at = session.get(AuditEvent, point.events)
        if at is None or at.hash != point.head:
            return Comparison(done, f"event {point.events} is not the one the checkpoint of {point.at} signed: "
                                    "the chain was rewritten")
    return Comparison(len(checkpoints))

"""A notice waiting to be mailed, or mailed (see bastide.notices.service)."""

from __future__ import annotations

from sqlalchemy import JSON, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from bastide.db import Base, UTCDateTime


class Notice(Base):
    """What a person is to be told, recorded in the transaction of what happened; a worker mails it."""

    __tablename__ = "notice"
    # a worker's claim and its tries are not actions (the mail sent is: notice:send, audited)
    __bookkeeping__ = frozenset({"claimed_by", "heartbeat_at", "attempts", "next_attempt_at", "last_error"})

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(50), nullable=False)  # its texts: mail_<kind>_subject, mail_<kind>_body
    recipient: Mapped[str] = mapped_column(String(320), nullable=False)
    values: Mapped[dict] = mapped_column(JSON, nullable=False, default=dict)  # what the texts name
    path: Mapped[str] = mapped_column(String(300), nullable=False)  # the page it links to, under the public URL
    created_at = mapped_column(UTCDateTime(), nullable=False)
    claimed_by: Mapped[str | None] = mapped_column(String(200))  # the worker mailing it now
    heartbeat_at = mapped_column(UTCDateTime(), nullable=True)  # when it was claimed
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    next_attempt_at = mapped_column(UTCDateTime(), nullable=False)
    last_error: Mapped[str | None] = mapped_column(String(500))
    sent_at = mapped_column(UTCDateTime(), nullable=True)
    given_up_at = mapped_column(UTCDateTime(), nullable=True)  # after MAX_ATTEMPTS: the operators are told

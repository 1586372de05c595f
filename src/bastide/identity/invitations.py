"""An account's activation link goes to its person (issue 18, item 9).

With a mail relay (BASTIDE_MAIL_URL) the link is mailed to the person and shown to nobody else:
the administrator who created the account never holds it, so cannot activate it in the person's
place. Without one (a laptop), the message is written to `home/outbox/` and the link is also
given back to the operator, who is the only one there to hand it over. A relay that refuses the
message fails the creation whole (MailUnavailable): no account waits for a link nobody got."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from bastide import i18n
from bastide.identity import credentials
from bastide.identity.models import User
from bastide.notify import Mail, send
from bastide.statemachine import Actor


@dataclass(frozen=True)
class Invitation:
    email: str
    sent_to: str  # the relay's host, or the outbox file
    link: str | None  # for the operator to hand over, only when no relay carries it


def invite(session: Session, *, settings, actor: Actor, user: User) -> Invitation:
    """Issue `user` a new activation link (an earlier one stops working) and send it to them."""
    link = credentials.activation_link(settings, credentials.issue_activation(session, actor=actor, user=user))
    subject, body = i18n.mail("activation", {"name": user.name, "days": str(credentials.ACTIVATION_TTL.days)}, link)
    where = send(settings, Mail(user.email, subject, body))
    return Invitation(user.email, where, None if settings.mail_url else link)

"""Telling a person what was done to their account, by e-mail (issue 13: an account reset is
told to its person, and its link reaches only them).

With `BASTIDE_MAIL_URL` (smtp://host:port, smtp+starttls://host:port, smtps://host:port,
user and password in the URL if the relay wants them) messages go to that relay; without it
(a laptop) each message is written to `home/outbox/` as an .eml file, whole or not at all.
A message that cannot be sent raises `MailUnavailable`: the caller's transaction is rolled
back, so nothing is done that the person was not told of."""

from __future__ import annotations

import os
import secrets
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path
from urllib.parse import unquote, urlparse

from bastide.db import utcnow
from bastide.errors import Unavailable

TIMEOUT = 10


class MailUnavailable(Unavailable):
    code = "mail_unavailable"


@dataclass(frozen=True)
class Mail:
    to: str
    subject: str
    body: str


def _message(mail: Mail, sender: str) -> EmailMessage:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = sender, mail.to, mail.subject
    message["Date"], message["Message-ID"] = formatdate(localtime=False), make_msgid(domain="bastide")
    message.set_content(mail.body)
    return message


def send(settings, mail: Mail) -> str:
    """Send `mail`; returns where it went (the relay's host or the outbox file)."""
    message = _message(mail, settings.mail_from)
    if settings.mail_url:
        return _relay(settings.mail_url, message)
    return str(_outbox(settings.home / "outbox", message))


def _relay(url: str, message: EmailMessage) -> str:
    parts = urlparse(url)
    if parts.scheme not in ("smtp", "smtp+starttls", "smtps"):
        raise MailUnavailable("BASTIDE_MAIL_URL must be smtp://, smtp+starttls:// or smtps://host:port")
    try:
        if parts.scheme == "smtps":
            client = smtplib.SMTP_SSL(parts.hostname, parts.port or 465, timeout=TIMEOUT,
                                      context=ssl.create_default_context())
        else:
            client = smtplib.SMTP(parts.hostname, parts.port or 25, timeout=TIMEOUT)
        with client:
            if parts.scheme == "smtp+starttls":
                client.starttls(context=ssl.create_default_context())
            if parts.username:
                client.login(unquote(parts.username), unquote(parts.password or ""))
            client.send_message(message)
    except (OSError, smtplib.SMTPException) as exc:
        raise MailUnavailable(f"the mail relay {parts.hostname}:{parts.port} did not take the message "
                              f"({type(exc).__name__}): nothing was done; try again or ask the operators") from None
    return parts.hostname or ""


def _outbox(folder: Path, message: EmailMessage) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    final = folder / f"{utcnow():%Y%m%dT%H%M%S%f}-{secrets.token_hex(4)}.eml"  # in the order sent
    partial = final.with_suffix(".part")
    partial.write_bytes(bytes(message))
    os.replace(partial, final)  # whole or not at all
    return final

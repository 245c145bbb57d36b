"""Sending mail (the notifications' e-mail, issue 16 point 6) over SMTP, from the MAIL_* settings.

Flask-Security-Too sends through Flask-Mailman when that extension is installed; it is not (this
project turns every Flask-Security mail off), so the few messages here go through the standard
library's smtplib. MAIL_BACKEND "locmem" appends them to `outbox` instead, like Flask-Mailman's
locmem backend: the tests read what would have been sent. Only the queue's tasks call `send`, never
a web request (services/notifications.py).
"""

from __future__ import annotations

import smtplib
from email.message import EmailMessage
from email.utils import formataddr, parseaddr

from flask import current_app

outbox: list[EmailMessage] = []  # MAIL_BACKEND = "locmem": what was "sent", oldest first


class MailError(RuntimeError):
    """The message could not be handed to the mail server."""


def enabled() -> bool:
    return bool(current_app.config.get("MAIL_SERVER"))


def _sender() -> str:
    name, address = parseaddr(current_app.config.get("MAIL_DEFAULT_SENDER") or "")
    return formataddr((name, address)) if address else "noreply@localhost"


def message(to: str, subject: str, body: str) -> EmailMessage:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = _sender(), to, subject
    msg.set_content(body)  # UTF-8, as the text is Chinese
    return msg


def send(to: str, subject: str, body: str) -> EmailMessage:
    """Send one plain-text message; MailError when the server refuses or cannot be reached."""
    msg = message(to, subject, body)
    config = current_app.config
    if config.get("MAIL_BACKEND") == "locmem":
        outbox.append(msg)
        return msg
    if not enabled():
        raise MailError("MAIL_SERVER is not set")
    smtp_class = smtplib.SMTP_SSL if config.get("MAIL_USE_SSL") else smtplib.SMTP
    try:
        with smtp_class(config["MAIL_SERVER"], config.get("MAIL_PORT", 25), timeout=config.get("MAIL_TIMEOUT", 10)) as smtp:
            if config.get("MAIL_USE_TLS") and not config.get("MAIL_USE_SSL"):
                smtp.starttls()
            if config.get("MAIL_USERNAME"):
                smtp.login(config["MAIL_USERNAME"], config.get("MAIL_PASSWORD") or "")
            smtp.send_message(msg)
    except (OSError, smtplib.SMTPException) as exc:
        raise MailError(f"{type(exc).__name__}: {exc}") from exc
    return msg

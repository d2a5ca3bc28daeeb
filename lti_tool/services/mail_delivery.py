"""Sending the e-mails notifications.py wrote: the ``email.send`` outbox handler.

SMTP mode connects with a timeout, upgrades with STARTTLS when asked, logs in when a user is set, and
sends. STARTTLS checks the server's certificate chain (against ``SMTP_CA_FILE`` when set, else the
system's CAs) and host name, and never falls back to plain text: a server without STARTTLS parks the
e-mail, an untrusted certificate delays it. Mailbox mode (the embedded set-up) sends nothing: it marks the
e-mail as kept for the development platform's mailbox page. A refusal no retry can mend (a bad address, a
5xx answer) parks the message at once; anything else is retried with back-off and parked after
``MAX_ATTEMPTS``. Log lines name the e-mail's id, never its address or the SMTP password.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from datetime import timedelta
from email.message import EmailMessage as MimeMessage
from email.utils import formatdate, make_msgid, parseaddr
from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session

from ..db import Database
from ..db.base import utcnow
from ..db.models import EmailMessage
from . import notifications, outbox

log = logging.getLogger("lti_tool.mail")

MAX_ATTEMPTS = 10
POLICY_BASE = timedelta(seconds=30)


def build_mime(settings: notifications.NotificationSettings, email: EmailMessage) -> MimeMessage:
    mime = MimeMessage()
    mime["From"] = settings.mail_from
    mime["To"] = email.to_address
    mime["Subject"] = email.subject
    mime["Date"] = formatdate(localtime=False)
    domain = parseaddr(settings.mail_from)[1].rpartition("@")[2] or "localhost"
    mime["Message-ID"] = make_msgid(idstring=f"email-{email.id}", domain=domain)
    mime.set_content(email.body)
    return mime


class CertificateNotTrusted(OSError):
    """STARTTLS stopped at the server's certificate: signed by a CA not trusted here, expired, or for
    another host. Retried like a server that is down (an operator can mend it), never sent in clear."""


def send_smtp(settings: notifications.NotificationSettings, mime: MimeMessage) -> None:
    with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=settings.smtp_timeout) as smtp:
        smtp.ehlo()
        if settings.smtp_starttls:
            # Raises SMTPNotSupportedError when the server offers no STARTTLS: nothing goes out in clear.
            try:
                smtp.starttls(context=settings.tls_context())
            except ssl.SSLCertVerificationError as exc:
                trusted = (
                    f"the CAs in SMTP_CA_FILE {settings.smtp_ca_file}"
                    if settings.smtp_ca_file
                    else "the system's CAs (set SMTP_CA_FILE to trust a private CA)"
                )
                raise CertificateNotTrusted(
                    f"STARTTLS with {settings.smtp_host}:{settings.smtp_port}: the server's certificate was "
                    f"refused ({exc.verify_message or exc.reason}); trusted: {trusted}"
                ) from exc
            smtp.ehlo()
        if settings.smtp_user:
            smtp.login(settings.smtp_user, settings.smtp_password)
        smtp.send_message(mime)


def _permanent(exc: Exception) -> bool:
    """A failure the same message would meet again: the address or the sender refused, a 5xx answer (but
    not a failed login, which an operator can fix), or a server that cannot do STARTTLS."""
    if isinstance(
        exc, smtplib.SMTPRecipientsRefused | smtplib.SMTPSenderRefused | smtplib.SMTPNotSupportedError
    ):
        return True
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return False
    return isinstance(exc, smtplib.SMTPResponseException) and 500 <= exc.smtp_code < 600


def deliver(db: Database, payload: dict[str, Any]) -> None:
    settings = notifications.current()
    email_id = int(payload["email_id"])
    with db.read() as session:
        email = session.get(EmailMessage, email_id)
        if email is None or email.sent_at is not None:
            return  # gone with its course, or sent by an earlier attempt whose bookkeeping was retried
        session.expunge(email)
    if settings.mode == "smtp":
        try:
            mime = build_mime(settings, email)
        except ValueError as exc:  # an address or header the e-mail library refuses
            raise outbox.GiveUp(f"unusable message: {exc}") from None
        try:
            send_smtp(settings, mime)
        except (smtplib.SMTPException, OSError) as exc:
            if _permanent(exc):
                raise outbox.GiveUp(f"{type(exc).__name__}: {exc}") from None
            raise
        transport = "smtp"
    else:
        # Mailbox (or notifications turned off since it was written): keep it, send nothing.
        transport = "mailbox"
    with db.transaction() as session:
        session.execute(
            update(EmailMessage)
            .where(EmailMessage.id == email_id)
            .values(sent_at=utcnow(), transport=transport, error=None)
        )
    log.info("event=email_sent id=%s kind=%s transport=%s", email_id, email.kind, transport)


def _parked(session: Session, payload: dict[str, Any], error: str) -> None:
    session.execute(
        update(EmailMessage).where(EmailMessage.id == int(payload["email_id"])).values(error=error[:2000])
    )


POLICY = outbox.Policy(base=POLICY_BASE, jitter=True, max_attempts=MAX_ATTEMPTS, on_parked=_parked)


def register() -> None:
    outbox.register_handler(notifications.TOPIC, deliver, POLICY)

"""E-mail notifications: a decision tells the learner, a digest tells assessors of waiting work; each e-mail
is a row and an outbox message in the cause's transaction, sent by SMTP (a real server on 127.0.0.1) or
kept for the development platform's mailbox. Database behaviour on SQLite and PostgreSQL; SMTP on SQLite
(and a delayed STARTTLS e-mail on both), plain (SMTP_STARTTLS=0) and with STARTTLS against a certificate
made here by a test CA."""

from __future__ import annotations

import dataclasses
import ipaddress
import logging
import socket
import ssl
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from email.message import Message
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from flask import Flask
from sqlalchemy import select, update

from lti_tool import create_app
from lti_tool.config import Settings
from lti_tool.db import Database
from lti_tool.db.base import utcnow
from lti_tool.db.models import EmailMessage, OutboxMessage, Submission, User
from lti_tool.services import assessment, notifications, outbox
from lti_tool.services.errors import Conflict
from tests import scenario
from tests.conftest import app_config

SMTP_PASSWORD = "s3cret-pa55word-never-logged"


def _app(url: str, tmp_path: Path, **extra: Any) -> Iterator[Flask]:
    application = create_app(app_config(url, tmp_path, **extra))
    yield application
    application.extensions["db"].dispose()


@pytest.fixture
def mailbox_app(database_url: str, tmp_path: Path) -> Iterator[Flask]:
    yield from _app(database_url, tmp_path, NOTIFICATIONS="mailbox", DEV_PLATFORM="1")


def _emails(db: Database) -> list[EmailMessage]:
    with db.read() as session:
        return list(session.scalars(select(EmailMessage).order_by(EmailMessage.id)))


def _email_outbox(db: Database) -> list[OutboxMessage]:
    with db.read() as session:
        return list(session.scalars(select(OutboxMessage).where(OutboxMessage.topic == notifications.TOPIC)))


def _set_email(db: Database, user_id: int, address: str) -> None:
    with db.transaction() as session:
        session.execute(update(User).where(User.id == user_id).values(email=address))


def _course_with_people(db: Database) -> tuple[scenario.Course, int, int, list[str]]:
    c = scenario.course(db)
    learner = c.person("Lee")
    assessor = c.person("Ann", scenario.ASSESSOR)
    _set_email(db, learner, "lee@example.com")
    _set_email(db, assessor, "ann@example.com")
    return c, learner, assessor, list(c.map().stacks[0].credential_ids)


# --- the learner hears of a decision (SQLite and PostgreSQL) --------------------------------------------


def test_an_earned_decision_writes_one_email_and_its_outbox_message(mailbox_app: Flask) -> None:
    db: Database = mailbox_app.extensions["db"]
    c, learner, assessor, keys = _course_with_people(db)
    scenario.earn(c, learner, assessor, keys[0])

    (email,) = _emails(db)
    (message,) = _email_outbox(db)
    assert message.payload == {"email_id": email.id}
    title = c.map().credential(keys[0]).title
    assert (email.kind, email.to_address, email.to_user_id) == ("decision", "lee@example.com", learner)
    assert email.subject == f"{title}: earned"
    assert "was reviewed: earned" in email.body
    assert f"http://tool.test/learn/credentials/{keys[0]}" in email.body
    assert email.sent_at is None

    # The handler keeps it in the mailbox: marked sent, nothing leaves the machine.
    assert outbox.drain(db).delivered >= 1
    (email,) = _emails(db)
    assert email.transport == "mailbox" and email.sent_at is not None and email.error is None


def test_not_yet_carries_the_feedback_and_a_repeat_decision_writes_nothing_more(mailbox_app: Flask) -> None:
    db: Database = mailbox_app.extensions["db"]
    c, learner, assessor, keys = _course_with_people(db)
    scenario.complete_evidence(c, learner, keys[0])
    sid = scenario.submission_id(c, learner, keys[0])
    feedback = "Show one learner's data before and after the change."
    assessment.decide(db, c.context_id, sid, assessor, scenario.failing_scores(c, keys[0]), feedback)
    with pytest.raises(Conflict):  # the same attempt again: refused, and its transaction writes nothing
        assessment.decide(db, c.context_id, sid, assessor, scenario.failing_scores(c, keys[0]), feedback)

    (email,) = _emails(db)
    assert email.subject.endswith(": not yet, with feedback")
    assert "was reviewed: not yet" in email.body and feedback in email.body
    assert len(_email_outbox(db)) == 1


def test_notifications_off_write_nothing(database_url: str, tmp_path: Path) -> None:
    for app in _app(database_url, tmp_path, NOTIFICATIONS="off", DEV_PLATFORM="1"):
        db: Database = app.extensions["db"]
        c, learner, assessor, keys = _course_with_people(db)
        scenario.earn(c, learner, assessor, keys[0])
        scenario.complete_evidence(c, learner, keys[1])
        assert notifications.notify_waiting_work(db).sent == 0
        assert _emails(db) == [] and _email_outbox(db) == []


def test_a_learner_without_an_address_is_skipped_and_counted(
    mailbox_app: Flask, caplog: pytest.LogCaptureFixture
) -> None:
    db: Database = mailbox_app.extensions["db"]
    c, learner, assessor, keys = _course_with_people(db)
    _set_email(db, learner, "")
    with caplog.at_level(logging.INFO, logger="lti_tool.notifications"):
        scenario.earn(c, learner, assessor, keys[0])
    assert _emails(db) == [] and _email_outbox(db) == []
    assert f"event=email_skipped reason=no_address kind=decision user_id={learner}" in caplog.text


# --- assessors hear of waiting work ----------------------------------------------------------------------


def test_the_waiting_work_digest_is_one_email_per_assessor_per_window(mailbox_app: Flask) -> None:
    db: Database = mailbox_app.extensions["db"]
    c, learner, assessor, keys = _course_with_people(db)
    other_learner = c.person("Lou")
    silent = c.person("Sam", scenario.ASSESSOR)
    _set_email(db, silent, "")
    scenario.complete_evidence(c, learner, keys[0])
    scenario.complete_evidence(c, learner, keys[1])
    scenario.complete_evidence(c, other_learner, keys[0])
    now = utcnow()
    with db.transaction() as session:  # the oldest has waited two days
        session.execute(
            update(Submission)
            .where(Submission.user_id == learner, Submission.credential_key == keys[0])
            .values(submitted_at=now - timedelta(days=2, hours=1))
        )

    result = notifications.notify_waiting_work(db, now=now)
    assert (result.sent, result.no_address) == (1, 1)
    (email,) = _emails(db)
    assert (email.kind, email.to_user_id, email.to_address) == ("waiting_work", assessor, "ann@example.com")
    assert email.subject == "3 submissions waiting for review, oldest 2 days"
    assert "- MOOC-Ed: 3 submissions, the oldest waiting 2 days" in email.body
    assert len(_email_outbox(db)) == 1

    # Again in the same window, or within the digest period: nothing more.
    assert notifications.notify_waiting_work(db, now=now).sent == 0
    assert notifications.notify_waiting_work(db, now=now + timedelta(hours=23)).recently_told == 1
    assert len(_emails(db)) == 1
    # After the period, a new digest.
    assert notifications.notify_waiting_work(db, now=now + timedelta(hours=25)).sent == 1
    assert len(_emails(db)) == 2


def test_the_digest_leaves_out_what_the_assessor_already_reviewed_or_submitted(mailbox_app: Flask) -> None:
    db: Database = mailbox_app.extensions["db"]
    c, learner, assessor, keys = _course_with_people(db)
    scenario.earn(c, learner, assessor, keys[0])  # decided: not waiting
    assert notifications.notify_waiting_work(db).sent == 0
    with db.transaction() as session:  # the assessor is a learner too, with their own evidence waiting
        session.execute(update(EmailMessage).values(created_at=utcnow() - timedelta(days=30)))
    scenario.complete_evidence(c, assessor, keys[1])
    assert notifications.notify_waiting_work(db).sent == 0
    assert [e.kind for e in _emails(db)] == ["decision"]


# --- sending: SMTP against a real server, the mailbox page -------------------------------------------------


class _Inbox:
    def __init__(self) -> None:
        self.messages: list[Message] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.tls: list[str | None] = []  # per message: the TLS version it came over, None in clear
        self.logins: list[tuple[bool, bool]] = []  # per AUTH: (accepted, over TLS)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        self.messages.append(message_from_bytes(envelope.original_content or envelope.content))
        self.tls.append(session.ssl["ssl_object"].version() if session.ssl else None)
        return "250 OK"

    def check_login(self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        ok = isinstance(data, LoginPassword) and (data.login, data.password) == (
            b"mailer",
            SMTP_PASSWORD.encode(),
        )
        self.logins.append((ok, session.ssl is not None))
        return AuthResult(success=ok, handled=False)


@contextmanager
def _serving(inbox: _Inbox, **options: Any) -> Iterator[int]:
    """A real SMTP server on 127.0.0.1 (aiosmtpd) delivering into ``inbox``; yields its port."""
    controller = Controller(
        inbox, hostname="127.0.0.1", port=_free_port(), authenticator=inbox.check_login, **options
    )
    controller.start()
    try:
        yield controller.port
    finally:
        controller.stop()


@pytest.fixture
def smtp_server() -> Iterator[tuple[_Inbox, int]]:
    """Plain SMTP, no STARTTLS offered: for SMTP_STARTTLS=0 (an explicit setting, never a fallback) and
    for a STARTTLS the server cannot give."""
    inbox = _Inbox()
    with _serving(inbox, auth_require_tls=False) as port:
        yield inbox, port


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _smtp_app(sqlite_url: str, tmp_path: Path, port: int, **extra: Any) -> Iterator[Flask]:
    settings: dict[str, Any] = {
        "NOTIFICATIONS": "smtp",
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(port),
        "SMTP_STARTTLS": "0",
        "SMTP_USER": "mailer",
        "SMTP_PASSWORD": SMTP_PASSWORD,
        "MAIL_FROM": "Stacks <stacks@tool.test>",
    }
    settings.update(extra)
    yield from _app(sqlite_url, tmp_path, **settings)


def test_smtp_sends_the_decision_email_and_never_logs_the_password(
    sqlite_url: str, tmp_path: Path, smtp_server: tuple[_Inbox, int], caplog: pytest.LogCaptureFixture
) -> None:
    inbox, port = smtp_server
    for app in _smtp_app(sqlite_url, tmp_path, port):
        db: Database = app.extensions["db"]
        assert SMTP_PASSWORD not in repr(app.extensions["settings"])
        c, learner, assessor, keys = _course_with_people(db)
        with caplog.at_level(logging.DEBUG):
            scenario.earn(c, learner, assessor, keys[0])
            assert outbox.drain(db).delivered >= 1
        (sent,) = inbox.messages
        title = c.map().credential(keys[0]).title
        assert inbox.envelopes == [("stacks@tool.test", ["lee@example.com"])]
        assert (sent["To"], sent["Subject"], sent["From"]) == (
            "lee@example.com",
            f"{title}: earned",
            "Stacks <stacks@tool.test>",
        )
        assert f"http://tool.test/learn/credentials/{keys[0]}" in sent.get_payload(decode=True).decode()
        (email,) = _emails(db)
        assert email.transport == "smtp" and email.sent_at is not None
        assert SMTP_PASSWORD not in caplog.text
        # Drained again: nothing is sent twice.
        outbox.drain(db)
        assert len(inbox.messages) == 1


def test_smtp_wrong_password_is_retried_not_lost(
    sqlite_url: str, tmp_path: Path, smtp_server: tuple[_Inbox, int]
) -> None:
    inbox, port = smtp_server
    for app in _smtp_app(sqlite_url, tmp_path, port, SMTP_PASSWORD="wrong"):
        db: Database = app.extensions["db"]
        c, learner, assessor, keys = _course_with_people(db)
        scenario.earn(c, learner, assessor, keys[0])
        assert outbox.drain(db).retried == 1
        (message,) = _email_outbox(db)
        assert message.delivered_at is None and not message.dead and message.attempts == 1
        assert inbox.messages == [] and _emails(db)[0].sent_at is None


def test_starttls_asked_of_a_server_without_it_sends_nothing_in_clear(
    sqlite_url: str, tmp_path: Path, smtp_server: tuple[_Inbox, int]
) -> None:
    inbox, port = smtp_server
    for app in _smtp_app(sqlite_url, tmp_path, port, SMTP_STARTTLS="1"):
        db: Database = app.extensions["db"]
        c, learner, assessor, keys = _course_with_people(db)
        scenario.earn(c, learner, assessor, keys[0])
        assert outbox.drain(db).parked == 1
        assert inbox.messages == []
        (email,) = _emails(db)
        assert email.sent_at is None and email.error and "SMTPNotSupportedError" in email.error


def test_an_smtp_server_that_is_down_delays_the_email(sqlite_url: str, tmp_path: Path) -> None:
    for app in _smtp_app(sqlite_url, tmp_path, _free_port()):  # nobody listens there
        db: Database = app.extensions["db"]
        c, learner, assessor, keys = _course_with_people(db)
        scenario.earn(c, learner, assessor, keys[0])
        assert outbox.drain(db).retried == 1
        (message,) = _email_outbox(db)
        assert (
            not message.dead
            and message.delivered_at is None
            and "ConnectionRefused" in (message.last_error or "")
        )


# --- SMTP with STARTTLS: a certificate made here, by a CA the tool trusts only when told -----------------


@dataclasses.dataclass(frozen=True)
class _Pki:
    ca_file: Path  # the test CA's certificate (PEM): what SMTP_CA_FILE names
    server: ssl.SSLContext  # the server's side: a certificate for 127.0.0.1 and localhost, from the CA
    other_host: ssl.SSLContext  # a certificate from the same CA for mail.example.org only


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _server_context(
    directory: Path, stem: str, ca: x509.Certificate, ca_key: ec.EllipticCurvePrivateKey, names: list[Any]
) -> ssl.SSLContext:
    now = datetime.now(UTC)
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(str(names[0].value)))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    (directory / f"{stem}.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (directory / f"{stem}.key").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(directory / f"{stem}.pem", directory / f"{stem}.key")
    return context


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> _Pki:
    """A self-signed CA and server certificates it signed, made with ``cryptography`` (no network)."""
    directory = tmp_path_factory.mktemp("pki")
    now = datetime.now(UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder()
        .subject_name(_name("Notifications test CA"))
        .issuer_name(_name("Notifications test CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    ca_file = directory / "ca.pem"
    ca_file.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    local = [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
    return _Pki(
        ca_file=ca_file,
        server=_server_context(directory, "server", ca, ca_key, local),
        other_host=_server_context(directory, "other", ca, ca_key, [x509.DNSName("mail.example.org")]),
    )


def _tls_app(url: str, tmp_path: Path, port: int, **extra: Any) -> Iterator[Flask]:
    return _smtp_app(url, tmp_path, port, SMTP_STARTTLS="1", **extra)


def test_starttls_to_a_server_whose_ca_is_trusted_delivers_the_email_intact(
    sqlite_url: str, tmp_path: Path, pki: _Pki, caplog: pytest.LogCaptureFixture
) -> None:
    inbox = _Inbox()
    # The server takes nothing before STARTTLS: no login, no message in clear.
    with _serving(inbox, tls_context=pki.server, require_starttls=True) as port:
        for app in _tls_app(sqlite_url, tmp_path, port, SMTP_CA_FILE=str(pki.ca_file)):
            db: Database = app.extensions["db"]
            c, learner, assessor, keys = _course_with_people(db)
            with db.transaction() as session:  # a name beyond ASCII must arrive as written
                session.execute(update(User).where(User.id == learner).values(name="Zoë Ørsted"))
            with caplog.at_level(logging.DEBUG):
                scenario.earn(c, learner, assessor, keys[0])
                assert outbox.drain(db).delivered >= 1

            (email,) = _emails(db)
            assert email.transport == "smtp" and email.sent_at is not None and email.error is None
            assert inbox.tls in (["TLSv1.2"], ["TLSv1.3"]) and inbox.logins == [(True, True)]
            assert inbox.envelopes == [("stacks@tool.test", ["lee@example.com"])]
            (sent,) = inbox.messages
            title = c.map().credential(keys[0]).title
            assert (sent["To"], sent["Subject"], sent["From"]) == (
                "lee@example.com",
                f"{title}: earned",
                "Stacks <stacks@tool.test>",
            )
            body = sent.get_payload(decode=True).decode(sent.get_content_charset() or "ascii")
            assert body.replace("\r\n", "\n") == email.body
            assert email.body.startswith("Hello Zoë Ørsted,\n")
            assert f"http://tool.test/learn/credentials/{keys[0]}" in body
            assert SMTP_PASSWORD not in caplog.text


def test_starttls_to_a_server_whose_ca_is_not_trusted_sends_nothing_and_keeps_the_email(
    database_url: str, tmp_path: Path, pki: _Pki, caplog: pytest.LogCaptureFixture
) -> None:
    """The system's CAs (no SMTP_CA_FILE) do not include the test CA: the handshake fails, and the tool
    neither logs in nor sends in clear, though this server would take both without TLS. The e-mail waits
    for its retry (SQLite and PostgreSQL)."""
    inbox = _Inbox()
    with _serving(inbox, tls_context=pki.server, auth_require_tls=False) as port:
        for app in _tls_app(database_url, tmp_path, port):
            db: Database = app.extensions["db"]
            c, learner, assessor, keys = _course_with_people(db)
            scenario.earn(c, learner, assessor, keys[0])
            with caplog.at_level(logging.DEBUG):
                assert outbox.drain(db).retried == 1
            assert inbox.messages == [] and inbox.logins == []
            (message,) = _email_outbox(db)
            assert message.delivered_at is None and not message.dead and message.attempts == 1
            error = message.last_error or ""
            assert error.startswith("CertificateNotTrusted(")
            assert f"STARTTLS with 127.0.0.1:{port}: the server's certificate was refused" in error
            assert "unable to get local issuer certificate" in error
            assert "the system's CAs (set SMTP_CA_FILE to trust a private CA)" in error
            (email,) = _emails(db)
            assert email.sent_at is None and email.error is None  # kept, to be retried; not parked
            assert SMTP_PASSWORD not in caplog.text and SMTP_PASSWORD not in error

            # Nothing lost: once the operator names the CA, the retry delivers it, over TLS, once.
            notifications.configure(
                dataclasses.replace(notifications.current(), smtp_ca_file=str(pki.ca_file))
            )
            assert outbox.drain(db).delivered == 0  # not before its back-off
            assert outbox.drain(db, now=utcnow() + timedelta(hours=1)).delivered == 1
            assert inbox.tls in (["TLSv1.2"], ["TLSv1.3"]) and inbox.logins == [(True, True)]
            (email,) = _emails(db)
            assert email.sent_at is not None and inbox.messages[0]["Subject"] == email.subject
            outbox.drain(db, now=utcnow() + timedelta(hours=2))
            assert len(inbox.messages) == 1


def test_starttls_checks_the_host_name_too(sqlite_url: str, tmp_path: Path, pki: _Pki) -> None:
    """A certificate from the trusted CA, but for another host: refused like an unknown CA."""
    inbox = _Inbox()
    with _serving(inbox, tls_context=pki.other_host, auth_require_tls=False) as port:
        for app in _tls_app(sqlite_url, tmp_path, port, SMTP_CA_FILE=str(pki.ca_file)):
            db: Database = app.extensions["db"]
            c, learner, assessor, keys = _course_with_people(db)
            scenario.earn(c, learner, assessor, keys[0])
            assert outbox.drain(db).retried == 1
            assert inbox.messages == [] and inbox.logins == []
            (message,) = _email_outbox(db)
            error = message.last_error or ""
            assert "CertificateNotTrusted" in error and "mismatch" in error and "'127.0.0.1'" in error
            assert f"the CAs in SMTP_CA_FILE {pki.ca_file}" in error


def test_smtp_ca_file_is_read_from_the_environment_and_checked_at_start_up(tmp_path: Path, pki: _Pki) -> None:
    assert Settings.from_env(tmp_path, {"SMTP_CA_FILE": f" {pki.ca_file} "}).smtp_ca_file == str(pki.ca_file)
    assert Settings.from_env(tmp_path, {"SMTP_CA_FILE": ""}).smtp_ca_file == ""
    smtp = notifications.NotificationSettings(mode="smtp", smtp_ca_file=str(pki.ca_file))
    assert smtp.tls_context().check_hostname and smtp.tls_context().verify_mode == ssl.CERT_REQUIRED
    not_pem = tmp_path / "not-a-ca.pem"
    not_pem.write_text("not a certificate\n")
    before = notifications.current()
    for bad, message in [
        (str(tmp_path / "missing.pem"), "SMTP_CA_FILE .*missing.pem.* cannot be used"),
        (str(not_pem), "SMTP_CA_FILE .*not-a-ca.pem.* cannot be used"),
    ]:
        with pytest.raises(ValueError, match=message):
            notifications.configure(dataclasses.replace(smtp, smtp_ca_file=bad))
    with pytest.raises(ValueError, match="SMTP_STARTTLS is off"):
        notifications.configure(dataclasses.replace(smtp, smtp_starttls=False))
    assert notifications.current() is before  # a refused configuration changes nothing
    # Only SMTP mode reads the file.
    notifications.configure(dataclasses.replace(smtp, mode="mailbox", smtp_ca_file=str(not_pem)))
    notifications.configure(before)


def test_the_mailbox_page_lists_what_would_have_been_sent(mailbox_app: Flask) -> None:
    db: Database = mailbox_app.extensions["db"]
    c, learner, assessor, keys = _course_with_people(db)
    scenario.earn(c, learner, assessor, keys[0])
    scenario.earn(c, learner, assessor, keys[1])
    outbox.drain(db)
    page = mailbox_app.test_client().get("/dev/platform/mailbox")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    first, second = (c.map().credential(k).title for k in keys[:2])
    assert html.count("lee@example.com") == 2 and "kept in this mailbox" in html
    assert html.index(f"{second}: earned") < html.index(f"{first}: earned")  # newest first
    home = mailbox_app.test_client().get("/dev/platform/").get_data(as_text=True)
    assert 'href="/dev/platform/mailbox"' in home


def test_the_mailbox_page_is_not_served_without_the_dev_platform(sqlite_url: str, tmp_path: Path) -> None:
    for app in _app(sqlite_url, tmp_path, NOTIFICATIONS="mailbox", DEV_PLATFORM="0"):
        assert app.test_client().get("/dev/platform/mailbox").status_code == 404


def test_the_mode_defaults_to_the_mailbox_only_with_the_development_platform(tmp_path: Path) -> None:
    assert Settings.from_env(tmp_path, {"DEV_PLATFORM": "1"}).notifications == "mailbox"
    assert Settings.from_env(tmp_path, {"DEV_PLATFORM": "0", "NOTIFICATIONS": ""}).notifications == "off"
    assert Settings.from_env(tmp_path, {"NOTIFICATIONS": "SMTP"}).notifications == "smtp"
    with pytest.raises(ValueError, match="NOTIFICATIONS"):
        Settings.from_env(tmp_path, {"NOTIFICATIONS": "pigeon"})


def test_the_digest_task_runs_through_celery(mailbox_app: Flask) -> None:
    db: Database = mailbox_app.extensions["db"]
    c, learner, _, keys = _course_with_people(db)
    scenario.complete_evidence(c, learner, keys[0])
    from lti_tool.tasks.notifications import notify_waiting_work

    with mailbox_app.app_context():
        assert notify_waiting_work.apply().get() == {"sent": 1, "no_address": 0, "recently_told": 0}
    (email,) = _emails(db)
    assert email.sent_at is not None  # OUTBOX_SYNC drained it at once
    beat = mailbox_app.extensions["celery"].conf.beat_schedule
    assert beat["notify-waiting-work"]["task"] == "lti_tool.tasks.notifications.notify_waiting_work"


def test_embedded_mode_runs_the_digest_on_the_outbox_timer(mailbox_app: Flask) -> None:
    """No worker, no beat (``lti-tool serve`` embedded): the outbox timer runs the digest too."""
    from lti_tool.cli.serve import start_outbox_timer

    db: Database = mailbox_app.extensions["db"]
    c, learner, _, keys = _course_with_people(db)
    scenario.complete_evidence(c, learner, keys[0])
    stop = start_outbox_timer(mailbox_app, every=0.05, digest_every=0.2)
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not any(e.sent_at for e in _emails(db)):
            time.sleep(0.05)
    finally:
        stop.set()
    (email,) = _emails(db)
    assert email.kind == "waiting_work" and email.transport == "mailbox"

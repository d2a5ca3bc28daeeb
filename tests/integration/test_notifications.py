"""E-mail notifications: a decision tells the learner, a digest tells assessors of waiting work; each e-mail
is a row and an outbox message in the cause's transaction, sent by SMTP (a real server on 127.0.0.1) or
kept for the development platform's mailbox. Database behaviour on SQLite and PostgreSQL; SMTP on SQLite."""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import Iterator
from datetime import timedelta
from email import message_from_bytes
from email.message import Message
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
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

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        self.messages.append(message_from_bytes(envelope.original_content or envelope.content))
        return "250 OK"


def _check_login(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
    ok = isinstance(data, LoginPassword) and (data.login, data.password) == (
        b"mailer",
        SMTP_PASSWORD.encode(),
    )
    return AuthResult(success=ok, handled=False)


@pytest.fixture
def smtp_server() -> Iterator[tuple[_Inbox, int]]:
    inbox = _Inbox()
    controller = Controller(
        inbox,
        hostname="127.0.0.1",
        port=_free_port(),
        authenticator=_check_login,
        auth_require_tls=False,  # the test server has no certificate; production asks for STARTTLS
    )
    controller.start()
    try:
        yield inbox, controller.port
    finally:
        controller.stop()


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

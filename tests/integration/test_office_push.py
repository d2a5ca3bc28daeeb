"""Pushing CEU records to a licensure office's endpoint (a real HTTP receiver on 127.0.0.1), on SQLite and
PostgreSQL: signed, exactly once by Idempotency-Key across failures, timeouts and 429s, Retry-After
honoured, parked after the office's last attempt and redelivered by the operator's command, and not sent
at all when consent is gone, the secret is missing or the endpoint is not https:// outside development."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select, update

from lti_tool import create_app
from lti_tool.db import Database
from lti_tool.db.base import utcnow
from lti_tool.db.models import AuditEvent, OutboxMessage
from lti_tool.db.records_models import Award, OfficeConsent
from lti_tool.domain.licensure import PushEndpoint
from lti_tool.services import office_delivery, outbox, records, records_settings
from tests.conftest import app_config
from tests.office_push_support import (
    OFFICE,
    SECRET_ENV,
    deliveries,
    delivery,
    drain_until_settled,
    educator,
    issue_records,
    records_configured,
    write_offices,
)
from tests.records_receiver import Receiver, fail, hang, running_receiver, throttle

SECRET = "office-shared-secret-Zoë"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with running_receiver(SECRET) as r:
        yield r


@pytest.fixture
def push_app(
    database_url: str, tmp_path: Path, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Flask]:
    """The app with one office that pushes to ``receiver`` (max 4 attempts), its secret in the env."""
    monkeypatch.setenv(SECRET_ENV, SECRET)
    offices = write_offices(tmp_path / "offices", receiver.url, max_attempts=4)
    before = records_settings.current()
    app = create_app(app_config(database_url, tmp_path, OFFICES_DIR=str(offices)))
    yield app
    records_settings.configure(before)
    app.extensions["db"].dispose()


@pytest.fixture
def db(push_app: Flask) -> Database:
    database: Database = push_app.extensions["db"]
    return database


def _keys(db: Database) -> set[str]:
    return {d.idempotency_key for d in deliveries(db)}


def test_a_record_arrives_signed_with_its_payload_and_receipt(db: Database, receiver: Receiver) -> None:
    person = educator(db)
    (queued,) = issue_records(db, person, 1)
    assert queued.push_state == "queued"
    assert outbox.drain(db).delivered == 1
    body = receiver.records[queued.idempotency_key]
    assert body == queued.payload
    assert body["schema"] == "microcredential-stacks/ceu-record/v1" and body["office"] == OFFICE
    assert body["educator"] == {"legal_name": "Zoë Ångström", "state": "NC", "licence_number": "1234567"}
    assert body["office_units"]["amount"] == "1.0"
    assert receiver.bad_signatures == 0
    row = delivery(db, queued.id)
    assert (row.push_state, row.attempts, row.last_error) == ("delivered", 1, None)
    assert row.delivered_at is not None
    assert row.receipt is not None
    assert row.receipt["status"] == 200 and row.receipt["receipt_id"] == "R-000001"
    assert '"receipt_id"' in row.receipt["body"]


def test_every_record_arrives_exactly_once_across_failures_timeouts_and_429s(
    db: Database, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A read timeout of 1 s against a receiver that keeps the request 2 s: the record arrived, we never heard.
    monkeypatch.setattr(office_delivery, "TIMEOUTS", (2.0, 1.0))
    person = educator(db)
    queued = issue_records(db, person, 12)
    receiver.script(
        fail(500), fail(502), hang(2.0), throttle("1"), fail(500), throttle(None), hang(2.0), fail(503)
    )
    passes = drain_until_settled(db)
    assert passes > 1
    assert set(receiver.records) == _keys(db) and len(receiver.records) == 12
    # Both hung requests were accepted, unanswered in time, sent again and answered as duplicates.
    assert receiver.duplicates == 2
    assert receiver.bad_signatures == 0
    rows = deliveries(db)
    assert {r.push_state for r in rows} == {"delivered"}
    assert sum(r.attempts for r in rows) == 12 + 8  # one attempt per scripted misbehaviour
    timed_out = [
        r for r in rows if r.receipt and r.receipt["body"] and '"duplicate": true' in r.receipt["body"]
    ]
    assert len(timed_out) == 2
    assert {r.id for r in rows} == {q.id for q in queued}


def test_retry_after_is_honoured_and_not_retried_before(db: Database, receiver: Receiver) -> None:
    person = educator(db)
    (queued,) = issue_records(db, person, 1)
    receiver.script(throttle("120"))
    assert outbox.drain(db).retried == 1
    row = delivery(db, queued.id)
    assert row.push_state == "queued" and row.attempts == 1 and "HTTP 429" in (row.last_error or "")
    assert outbox.drain(db, now=utcnow() + timedelta(seconds=110)).delivered == 0
    assert len(receiver.hits_for(queued.idempotency_key)) == 1  # not retried before the office said
    assert outbox.drain(db, now=utcnow() + timedelta(seconds=125)).delivered == 1
    assert [h.status for h in receiver.hits_for(queued.idempotency_key)] == [429, 200]


def test_retry_after_as_an_http_date() -> None:
    now = utcnow()
    later = format_datetime((now + timedelta(seconds=90)).replace(tzinfo=UTC), usegmt=True)
    assert 88 <= (office_delivery.retry_after(later, now) or 0) <= 91
    assert office_delivery.retry_after("30", now) == 30
    assert office_delivery.retry_after("soon", now) is None
    assert office_delivery.retry_after(None, now) is None
    assert office_delivery.retry_after("99999999", now) == office_delivery.MAX_RETRY_AFTER.total_seconds()


def _cli(app: Flask, *args: str) -> Any:
    return app.test_cli_runner().invoke(args=list(args))


def test_parked_after_the_last_attempt_listed_and_redelivered(
    push_app: Flask, db: Database, receiver: Receiver
) -> None:
    person = educator(db)
    (parked_one,) = issue_records(db, person, 1)
    receiver.script(*[fail(500)] * 4)
    drain_until_settled(db)
    (other,) = issue_records(db, person, 1)
    assert outbox.drain(db).delivered == 1
    # Four failures: parked after the office's fourth attempt; the later record went through.
    row = delivery(db, parked_one.id)
    assert (row.push_state, row.attempts) == ("parked", 4)
    assert row.parked_at is not None and "gave up after 4 attempts" in (row.last_error or "")
    assert "HTTP 500" in (row.last_error or "")
    assert delivery(db, other.id).push_state == "delivered"
    with db.read() as session:
        message = session.scalars(select(OutboxMessage).where(OutboxMessage.dead.is_(True))).one()
        assert message.payload == {"delivery_id": parked_one.id}
    assert parked_one.idempotency_key not in receiver.records

    listing = _cli(push_app, "records", "parked")
    assert listing.exit_code == 0, listing.output
    line = next(x for x in listing.output.splitlines() if x.strip().startswith(str(parked_one.id)))
    assert OFFICE in line and parked_one.payload["record_id"] in line and "gave up after 4 attempts" in line
    assert str(other.id) not in [x.split()[0] for x in listing.output.splitlines()[1:-1]]

    done = _cli(push_app, "records", "redeliver", str(parked_one.id), str(other.id))
    assert done.exit_code == 0, done.output
    assert f"skipped {other.id}: not parked (push state delivered)" in done.output
    assert "queued 1 delivery again" in done.output
    # Embedded (tasks in-process) the command drains at once.
    row = delivery(db, parked_one.id)
    assert row.push_state == "delivered" and row.parked_at is None
    assert receiver.accepted[parked_one.idempotency_key] == 1 and receiver.duplicates == 0
    with db.read() as session:
        event = session.scalars(select(AuditEvent).where(AuditEvent.action == "record.redeliver")).one()
        assert event.subject_id == str(parked_one.id) and event.actor.startswith("cli:")
    assert "no parked deliveries" in _cli(push_app, "records", "parked").output


def test_redeliver_all_parked_of_one_office(push_app: Flask, db: Database, receiver: Receiver) -> None:
    person = educator(db)
    queued = issue_records(db, person, 3)
    with db.transaction() as session:
        session.execute(update(OutboxMessage).values(dead=True))
        for d in queued:
            office_delivery._mark_parked(session, {"delivery_id": d.id}, "gave up")
    assert len(office_delivery.parked(db, OFFICE)) == 3 and office_delivery.parked(db, "elsewhere") == []
    assert _cli(push_app, "records", "redeliver", "--all-parked", "--office", "elsewhere").output.startswith(
        "queued 0"
    )
    result = office_delivery.redeliver(db, all_parked=True, office_key=OFFICE, actor="test")
    assert sorted(result.queued) == sorted(d.id for d in queued) and not result.skipped
    assert {d.push_state for d in deliveries(db)} == {"queued"}
    assert outbox.drain(db).delivered == 3
    assert set(receiver.records) == _keys(db)
    usage = _cli(push_app, "records", "redeliver")
    assert usage.exit_code != 0 and "--all-parked" in usage.output


def test_withdrawn_consent_means_no_post_but_revocations_still_go(db: Database, receiver: Receiver) -> None:
    person = educator(db)
    (queued,) = issue_records(db, person, 1)
    with db.transaction() as session:
        session.execute(update(OfficeConsent).values(withdrawn_at=utcnow()))
    assert outbox.drain(db).delivered == 1  # the message is settled: nothing to send
    row = delivery(db, queued.id)
    assert row.push_state == "withdrawn" and "consent withdrawn" in (row.last_error or "")
    assert receiver.hits == []

    # An office that holds a record hears of its revocation whatever the consent says now.
    (earlier,) = issue_records(db, educator(db), 1)
    assert outbox.drain(db).delivered == 1
    with db.transaction() as session:
        session.execute(update(OfficeConsent).values(withdrawn_at=utcnow()))
        award = session.get(Award, earlier.award_id)
        assert award is not None
        award.revoked_at, award.revoked_reason = utcnow(), "misconduct found"
        (revocation,) = records.queue_revocations(session, award)
        revocation_key = revocation.idempotency_key
    assert outbox.drain(db).delivered == 1
    assert receiver.records[revocation_key]["event"] == "revoked"
    assert receiver.records[revocation_key]["revocation_reason"] == "misconduct found"


def test_a_missing_secret_parks_at_once_with_the_reason(
    db: Database, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(SECRET_ENV)
    (queued,) = issue_records(db, educator(db), 1)
    assert outbox.drain(db).parked == 1
    row = delivery(db, queued.id)
    assert row.push_state == "parked" and row.attempts == 0
    assert f"set the environment variable {SECRET_ENV}" in (row.last_error or "")
    assert receiver.hits == []


def test_a_wrong_secret_is_refused_by_the_office_and_parked(
    db: Database, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(SECRET_ENV, "not-the-office-secret")
    (queued,) = issue_records(db, educator(db), 1)
    assert outbox.drain(db).parked == 1  # a 4xx is not mended by sending the same bytes again
    row = delivery(db, queued.id)
    assert row.push_state == "parked" and "HTTP 401" in (row.last_error or "")
    assert row.receipt is not None and row.receipt["status"] == 401
    assert receiver.bad_signatures == 1 and receiver.records == {}


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("http://{host}/records", "must be an https:// URL"),
        ("https://127.0.0.1:9/records", "private network"),
    ],
)
def test_an_unsafe_endpoint_outside_development_is_refused(
    db: Database, receiver: Receiver, url: str, why: str
) -> None:
    (queued,) = issue_records(db, educator(db), 1)
    settings = records_settings.current()
    office = settings.offices[OFFICE]
    assert office.push is not None
    host = receiver.url.split("/")[2]
    unsafe = replace(office, push=PushEndpoint(url.format(host=host), SECRET_ENV))
    with records_configured(replace(settings, offices={OFFICE: unsafe}, development=False)):
        assert outbox.drain(db).parked == 1
    row = delivery(db, queued.id)
    assert row.push_state == "parked" and "refused to send" in (row.last_error or "")
    assert why in (row.last_error or "")
    assert receiver.hits == []


def test_backoff_has_full_jitter_within_the_exponential_step() -> None:
    policy = office_delivery.POLICY
    delays = [policy.delay(3) for _ in range(200)]
    assert all(timedelta(0) <= d <= timedelta(seconds=20) for d in delays)
    assert len(set(delays)) > 150  # spread, not one shared instant
    assert max(policy.delay(30) for _ in range(50)) <= timedelta(hours=1)

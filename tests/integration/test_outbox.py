"""The outbox: written with its cause, delivered once, delayed but never lost when the receiver fails."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from lti_tool.db import Database
from lti_tool.db.base import utcnow
from lti_tool.db.models import OutboxMessage
from lti_tool.services import outbox

TOPIC = "test.outbox"


class Receiver:
    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        self.fail_with: Exception | None = None
        self.lock = threading.Lock()

    def __call__(self, db: Database, payload: dict[str, Any]) -> None:
        if self.fail_with is not None:
            raise self.fail_with
        with self.lock:
            self.received.append(payload)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    outbox.register_handler(TOPIC, r)
    yield r
    outbox._HANDLERS.pop(TOPIC, None)


def _message(db: Database) -> OutboxMessage:
    with db.read() as session:
        return session.scalars(select(OutboxMessage).where(OutboxMessage.topic == TOPIC)).one()


def test_a_rolled_back_change_leaves_no_message(db: Database, receiver: Receiver) -> None:
    with pytest.raises(RuntimeError), db.transaction() as session:
        outbox.enqueue(session, TOPIC, {"n": 1})
        raise RuntimeError("the cause failed")
    assert outbox.pending(db, TOPIC) == []


def test_delivered_once_and_deduplicated(db: Database, receiver: Receiver) -> None:
    with db.transaction() as session:
        assert outbox.enqueue(session, TOPIC, {"n": 1}, dedupe_key="k1") is not None
        assert outbox.enqueue(session, TOPIC, {"n": 1}, dedupe_key="k1") is None
    assert outbox.drain(db).delivered == 1
    assert outbox.drain(db).delivered == 0
    assert receiver.received == [{"n": 1}]
    assert _message(db).delivered_at is not None


def test_a_receiver_that_is_down_delays_and_never_loses(db: Database, receiver: Receiver) -> None:
    with db.transaction() as session:
        outbox.enqueue(session, TOPIC, {"n": 2})
    receiver.fail_with = ConnectionError("connection refused")
    assert outbox.drain(db).retried == 1
    first = _message(db)
    assert first.delivered_at is None and first.attempts == 1
    assert "connection refused" in (first.last_error or "")
    assert first.available_at > utcnow()
    assert outbox.drain(db).retried == 0  # not due yet: back-off respected
    receiver.fail_with = None
    later = utcnow() + timedelta(minutes=5)
    assert outbox.drain(db, now=later).delivered == 1
    assert receiver.received == [{"n": 2}] and _message(db).delivered_at is not None


def test_retry_after_is_honoured(db: Database, receiver: Receiver) -> None:
    with db.transaction() as session:
        outbox.enqueue(session, TOPIC, {"n": 3})
    receiver.fail_with = outbox.RetryLater(120, "429 Too Many Requests")
    before = utcnow()
    outbox.drain(db)
    message = _message(db)
    assert timedelta(seconds=115) < message.available_at - before < timedelta(seconds=130)


def test_backoff_grows_and_is_capped() -> None:
    assert outbox.backoff(1) < outbox.backoff(2) < outbox.backoff(5)
    assert outbox.backoff(50) == outbox.MAX_BACKOFF


def test_concurrent_drainers_deliver_each_message_once(db: Database, receiver: Receiver) -> None:
    with db.transaction() as session:
        for n in range(40):
            outbox.enqueue(session, TOPIC, {"n": n})
    threads = [threading.Thread(target=outbox.drain, args=(db,)) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(p["n"] for p in receiver.received) == list(range(40))

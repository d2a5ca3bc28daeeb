"""The transactional outbox: messages written with their cause, delivered after commit, never lost.

A message is claimed with a lease (so two drainers never send it twice at once), handed to the
handler registered for its topic, then marked delivered or scheduled again with back-off.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..db import Database
from ..db.base import utcnow
from ..db.models import OutboxMessage

log = logging.getLogger("lti_tool.outbox")

LEASE = timedelta(seconds=120)
MAX_BACKOFF = timedelta(hours=1)

Handler = Callable[[Database, dict[str, Any]], None]
_HANDLERS: dict[str, Handler] = {}


class RetryLater(Exception):
    """The receiver asked us to wait (HTTP 429/503 with Retry-After)."""

    def __init__(self, seconds: float, reason: str = "") -> None:
        super().__init__(reason or f"retry after {seconds}s")
        self.seconds = seconds


def register_handler(topic: str, handler: Handler) -> None:
    _HANDLERS[topic] = handler


def registered_topics() -> list[str]:
    return sorted(_HANDLERS)


def enqueue(
    session: Session, topic: str, payload: dict[str, Any], dedupe_key: str | None = None
) -> OutboxMessage | None:
    """Add a message inside the caller's transaction. A repeated ``dedupe_key`` is ignored."""
    if dedupe_key is not None:
        existing = session.scalar(select(OutboxMessage).where(OutboxMessage.dedupe_key == dedupe_key))
        if existing is not None:
            return None
    message = OutboxMessage(topic=topic, payload=payload, dedupe_key=dedupe_key)
    try:
        with session.begin_nested():
            session.add(message)
            session.flush()
    except IntegrityError:
        return None
    return message


@dataclass
class DrainResult:
    delivered: int = 0
    retried: int = 0
    skipped: int = 0


def backoff(attempts: int) -> timedelta:
    """5 s, 10 s, 20 s ... capped at an hour: a platform down for a day is retried hourly, forever."""
    exponent = min(max(attempts - 1, 0), 20)
    return min(timedelta(seconds=5 * 2**exponent), MAX_BACKOFF)


def _claim(db: Database, now: datetime, batch: int, topics: list[str]) -> list[OutboxMessage]:
    with db.transaction() as session:
        query = (
            select(OutboxMessage)
            .where(
                OutboxMessage.delivered_at.is_(None),
                OutboxMessage.dead.is_(False),
                OutboxMessage.available_at <= now,
                OutboxMessage.topic.in_(topics),
            )
            .order_by(OutboxMessage.id)
            .limit(batch)
        )
        if db.dialect == "postgresql":
            query = query.with_for_update(skip_locked=True)
        messages = list(session.scalars(query))
        if messages:
            session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id.in_([m.id for m in messages]))
                .values(available_at=now + LEASE)
            )
        return messages


def drain(db: Database, batch: int = 50, now: datetime | None = None) -> DrainResult:
    """Deliver what is due. Safe to run from several workers at once."""
    result = DrainResult()
    now = now or utcnow()
    topics = registered_topics()
    if not topics:
        return result
    for message in _claim(db, now, batch, topics):
        handler = _HANDLERS[message.topic]
        try:
            handler(db, message.payload)
        except RetryLater as exc:
            _reschedule(db, message.id, timedelta(seconds=max(exc.seconds, 1)), str(exc))
            result.retried += 1
        except Exception as exc:  # a receiver that is down must delay, never lose, the message
            log.warning("event=outbox_retry topic=%s id=%s error=%r", message.topic, message.id, exc)
            _reschedule(db, message.id, backoff(message.attempts + 1), repr(exc))
            result.retried += 1
        else:
            with db.transaction() as session:
                session.execute(
                    update(OutboxMessage)
                    .where(OutboxMessage.id == message.id)
                    .values(delivered_at=utcnow(), attempts=OutboxMessage.attempts + 1, last_error=None)
                )
            result.delivered += 1
    return result


def _reschedule(db: Database, message_id: int, delay: timedelta, error: str) -> None:
    with db.transaction() as session:
        session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == message_id)
            .values(
                available_at=utcnow() + delay,
                attempts=OutboxMessage.attempts + 1,
                last_error=error[:2000],
            )
        )


def pending(db: Database, topic: str | None = None) -> list[OutboxMessage]:
    with db.read() as session:
        query = select(OutboxMessage).where(OutboxMessage.delivered_at.is_(None))
        if topic:
            query = query.where(OutboxMessage.topic == topic)
        return list(session.scalars(query.order_by(OutboxMessage.id)))

"""The transactional outbox: messages written with their cause, delivered after commit, never lost.

A message is claimed with a lease (so two drainers never send it twice at once), handed to the
handler registered for its topic, then marked delivered or scheduled again with back-off.

Each topic has a retry policy: the gradebook topics retry forever (a platform down for a day is
retried hourly); a topic with ``max_attempts`` parks the message (``dead``) after its last attempt, or at
once when the handler raises ``GiveUp``, and tells the topic's ``on_parked`` so an operator can see it.
"""

from __future__ import annotations

import logging
import random
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


class GiveUp(Exception):
    """A failure no retry can mend (a refused URL, a missing secret, a 4xx answer): park the message now."""


ParkedCallback = Callable[[Session, dict[str, Any], str], None]


@dataclass(frozen=True)
class Policy:
    """How a topic's failed messages are retried.

    ``jitter`` (full jitter: a uniform delay between 0 and the exponential step) spreads the retries of
    many messages that failed together, so a receiver coming back is not hit by all of them at once.
    ``max_attempts`` is a number, or a function of the message (e.g. a per-office limit); None retries
    forever. A parked message is ``dead``; ``on_parked`` is told in the same transaction.
    """

    base: timedelta = timedelta(seconds=5)
    cap: timedelta = MAX_BACKOFF
    jitter: bool = False
    max_attempts: int | Callable[[Database, dict[str, Any]], int | None] | None = None
    on_parked: ParkedCallback | None = None

    def delay(self, attempts: int) -> timedelta:
        step = backoff(attempts, self.base, self.cap)
        return step * random.random() if self.jitter else step

    def limit(self, db: Database, payload: dict[str, Any]) -> int | None:
        return self.max_attempts(db, payload) if callable(self.max_attempts) else self.max_attempts


DEFAULT_POLICY = Policy()
_POLICIES: dict[str, Policy] = {}


def register_handler(topic: str, handler: Handler, policy: Policy | None = None) -> None:
    _HANDLERS[topic] = handler
    _POLICIES[topic] = policy or DEFAULT_POLICY


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
    parked: int = 0


def backoff(attempts: int, base: timedelta = timedelta(seconds=5), cap: timedelta = MAX_BACKOFF) -> timedelta:
    """5 s, 10 s, 20 s ... capped at an hour: a platform down for a day is retried hourly, forever."""
    exponent = min(max(attempts - 1, 0), 20)
    return min(base * (1 << exponent), cap)


def _claim(
    db: Database, now: datetime, batch: int, topics: list[str], lease: timedelta
) -> list[OutboxMessage]:
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
                .values(available_at=now + lease)
            )
        return messages


def drain(
    db: Database, batch: int = 50, now: datetime | None = None, lease: timedelta | None = None
) -> DrainResult:
    """Deliver what is due. Safe to run from several workers at once.

    ``lease`` is how long a claimed message stays hidden from other drainers: longer than any one
    handler call may take, or a slow call is sent twice."""
    result = DrainResult()
    now = now or utcnow()
    lease = lease or LEASE
    topics = registered_topics()
    if not topics:
        return result
    claimed = _claim(db, now, batch, topics, lease)
    started = utcnow()
    for index, message in enumerate(claimed):
        # Past half the lease, the rest of the batch goes back: another drainer may take it once the
        # lease runs out, and a message must not be sent by two drainers at once.
        if utcnow() - started > lease / 2:
            _release(db, [m.id for m in claimed[index:]])
            result.skipped += len(claimed) - index
            break
        _handle(db, message, result)
    return result


def _handle(db: Database, message: OutboxMessage, result: DrainResult) -> None:
    handler = _HANDLERS[message.topic]
    policy = _POLICIES.get(message.topic, DEFAULT_POLICY)
    attempts = message.attempts + 1
    try:
        handler(db, message.payload)
    except GiveUp as exc:
        _park(db, message, policy, str(exc))
        result.parked += 1
    except Exception as exc:  # a receiver that is down must delay, never lose, the message
        error = str(exc) if isinstance(exc, RetryLater) else repr(exc)
        limit = policy.limit(db, message.payload)
        if limit is not None and attempts >= limit:
            _park(db, message, policy, f"gave up after {attempts} attempts: {error}")
            result.parked += 1
            return
        if isinstance(exc, RetryLater):
            delay = timedelta(seconds=max(exc.seconds, 1))
        else:
            log.warning("event=outbox_retry topic=%s id=%s error=%r", message.topic, message.id, exc)
            delay = policy.delay(attempts)
        _reschedule(db, message.id, delay, error)
        result.retried += 1
    else:
        with db.transaction() as session:
            session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id == message.id)
                .values(delivered_at=utcnow(), attempts=OutboxMessage.attempts + 1, last_error=None)
            )
        result.delivered += 1


def _park(db: Database, message: OutboxMessage, policy: Policy, error: str) -> None:
    log.warning("event=outbox_parked topic=%s id=%s error=%s", message.topic, message.id, error)
    with db.transaction() as session:
        session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == message.id)
            .values(dead=True, attempts=OutboxMessage.attempts + 1, last_error=error[:2000])
        )
        if policy.on_parked is not None:
            policy.on_parked(session, message.payload, error)


def _release(db: Database, message_ids: list[int]) -> None:
    with db.transaction() as session:
        session.execute(
            update(OutboxMessage).where(OutboxMessage.id.in_(message_ids)).values(available_at=utcnow())
        )


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

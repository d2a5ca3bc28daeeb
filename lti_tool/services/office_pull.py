"""What an office reads through the pull API: its own record events, a page at a time, after a cursor.

The cursor is opaque to offices (base64 of ``v1:<last delivery id>``): delivery ids only grow, so a page
after the cursor holds exactly the events not seen yet, however many were added between two requests, and
``since``/``until`` only narrow it. A page that comes back empty hands the same cursor back, so an office
polls with the last cursor it got and never sees a record twice.

Ids are taken when a row is inserted, and two transactions may commit out of id order: an office polling at
the moment two commit together could step past the later-committing one for good. So a page only holds events
older than a settling window (``OFFICE_PULL_SETTLE_SECONDS``, 5 s): far longer than the short grant
transactions that write them, so every event below the cursor has committed before the office reads past it.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from ..db import Database
from ..db.base import utcnow
from ..db.records_models import Award, OfficeDelivery
from .errors import ServiceError

MAX_LIMIT = 500
DEFAULT_LIMIT = 100
_CURSOR_PREFIX = "v1:"


class BadParameter(ServiceError):
    """A query parameter the API cannot use (``code`` names the parameter's problem)."""

    status = 400


@dataclass(frozen=True)
class PulledRecord:
    delivery_id: int
    payload: dict[str, Any]
    revoked: bool  # the record's state now (an issued event of a record revoked since says so)


@dataclass(frozen=True)
class RecordPage:
    records: list[PulledRecord]
    next_cursor: str | None
    has_more: bool


def encode_cursor(delivery_id: int) -> str:
    return base64.urlsafe_b64encode(f"{_CURSOR_PREFIX}{delivery_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    """The delivery id a cursor stands for; BadParameter when it is not one this API handed out."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raw = ""
    number = raw[len(_CURSOR_PREFIX) :]
    if not raw.startswith(_CURSOR_PREFIX) or not number.isdigit() or len(number) > 18:
        raise BadParameter("invalid_cursor", "cursor is not one this API returned; start again without it.")
    return int(number)


def record_page(
    db: Database,
    office_key: str,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    cursor: str | None = None,
    limit: int = DEFAULT_LIMIT,
    settle: timedelta = timedelta(0),
    now: datetime | None = None,
) -> RecordPage:
    """Up to ``limit`` of ``office_key``'s record events created in [since, until), after ``cursor``, and at
    least ``settle`` before ``now``."""
    if not 1 <= limit <= MAX_LIMIT:
        raise BadParameter("invalid_limit", f"limit must be a whole number from 1 to {MAX_LIMIT}.")
    if since is not None and until is not None and until < since:
        raise BadParameter("invalid_period", "until must not be before since.")
    after = decode_cursor(cursor) if cursor else 0
    query = (
        select(OfficeDelivery.id, OfficeDelivery.payload, Award.revoked_at)
        .join(Award, Award.id == OfficeDelivery.award_id)
        .where(OfficeDelivery.office_key == office_key, OfficeDelivery.id > after)
        .order_by(OfficeDelivery.id)
        .limit(limit + 1)
    )
    if since is not None:
        query = query.where(OfficeDelivery.created_at >= since)
    if until is not None:
        query = query.where(OfficeDelivery.created_at < until)
    if settle > timedelta(0):
        query = query.where(OfficeDelivery.created_at <= (now or utcnow()) - settle)
    with db.read() as session:
        rows = session.execute(query).all()
    records = [PulledRecord(r.id, r.payload, r.revoked_at is not None) for r in rows[:limit]]
    if records:
        next_cursor: str | None = encode_cursor(records[-1].delivery_id)
    else:
        next_cursor = cursor or None
    return RecordPage(records, next_cursor, has_more=len(rows) > limit)

"""Pushing CEU records to licensure offices: the outbox handler for ``records.office`` and the operator's
view of deliveries that were parked (listed, and queued again).

A message names one OfficeDelivery row. The handler re-checks everything that may have changed since the
record was queued (the educator's consent, the office's endpoint and its secret), POSTs the stored payload
signed (records/push_signature.py) with the delivery's Idempotency-Key, and keeps the office's answer as the
receipt. Offices treat a repeated key as a duplicate, so a message sent again after a worker died mid-POST
is harmless; the row's ``push_state`` says where the delivery stands: queued -> delivered, or parked after
the office's last attempt (or at once for what no retry can mend), or withdrawn (consent gone, not sent).
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

import requests
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ..db import Database
from ..db.base import utcnow
from ..db.records_models import OfficeConsent, OfficeDelivery
from ..records.push_signature import sign
from ..url_policy import UnsafeUrl, check_platform_url, check_public_host
from . import audit, outbox
from .records import PUSH_TOPIC
from .records_settings import current

log = logging.getLogger("lti_tool.records.push")

TOPIC = PUSH_TOPIC
# (connect, read) seconds: an office that accepts the connection but never answers holds a worker thread
# for at most this long; OUTBOX_LEASE_SECONDS must stay above their sum.
TIMEOUTS: tuple[float, float] = (5.0, 15.0)
RECEIPT_BODY_LIMIT = 4096
# A Retry-After further away than this is taken as this: a record must not sleep for weeks unseen.
MAX_RETRY_AFTER = timedelta(hours=6)
DEFAULT_MAX_ATTEMPTS = 8

QUEUED, DELIVERED, PARKED, WITHDRAWN = "queued", "delivered", "parked", "withdrawn"

_local = threading.local()


def _http() -> requests.Session:
    # One session per thread keeps connections to an office open between records (requests.Session is
    # not documented as thread-safe; the worker runs a thread pool).
    session: requests.Session | None = getattr(_local, "session", None)
    if session is None:
        session = requests.Session()
        session.trust_env = False  # no proxy or .netrc credentials picked up from the environment
        _local.session = session
    return session


# --- the outbox handler ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Job:
    delivery_id: int
    user_id: int
    office_key: str
    event: str
    idempotency_key: str
    payload: dict[str, Any]
    push_state: str | None


def _load(db: Database, delivery_id: int) -> tuple[_Job | None, bool]:
    """The delivery, and whether its educator's consent to its office is live (one round trip)."""
    with db.read() as session:
        found = session.execute(
            select(OfficeDelivery, OfficeConsent.id)
            .outerjoin(
                OfficeConsent,
                (OfficeConsent.user_id == OfficeDelivery.user_id)
                & (OfficeConsent.office_key == OfficeDelivery.office_key)
                & OfficeConsent.withdrawn_at.is_(None),
            )
            .where(OfficeDelivery.id == delivery_id)
        ).first()
        if found is None:
            return None, False
        row, consent_id = found
        job = _Job(
            row.id,
            row.user_id,
            row.office_key,
            row.event,
            row.idempotency_key,
            row.payload,
            row.push_state,
        )
        return job, consent_id is not None


def deliver(db: Database, message: dict[str, Any]) -> None:
    """Send one record to its office. Returns when the delivery is settled (delivered, or not to be sent);
    raises ``outbox.RetryLater`` or another error to be retried, ``outbox.GiveUp`` to park it now."""
    job, consented = _load(db, int(message["delivery_id"]))
    if job is None:
        log.info("event=office_push_gone delivery=%s", message["delivery_id"])
        return
    if job.push_state in (DELIVERED, WITHDRAWN):
        return  # a message sent again after the delivery settled (a worker died before the outbox knew)
    settings = current()
    office = settings.offices.get(job.office_key)
    if office is None or office.push is None:
        raise outbox.GiveUp(
            f"office {job.office_key} has no push endpoint in the office files (licensure_offices/)"
        )
    # Revocations always go: the office holds the record, whatever the consent says now.
    if job.event == "issued" and not consented:
        _settle(db, job.delivery_id, push_state=WITHDRAWN, last_error="consent withdrawn before delivery")
        log.info("event=office_push_withdrawn delivery=%s office=%s", job.delivery_id, job.office_key)
        return
    url = office.push.url
    field = f"the push URL of office {office.key}"
    try:
        check_platform_url(url, field, development=settings.development)
        check_public_host(url, field, development=settings.development)
    except UnsafeUrl as exc:
        raise outbox.GiveUp(f"refused to send: {exc}") from exc
    secret = os.environ.get(office.push.secret_env, "")
    if not secret:
        raise outbox.GiveUp(
            f"the signing secret is missing: set the environment variable {office.push.secret_env} "
            f"(named by office {office.key}) for the worker, then redeliver"
        )
    _post(db, job, url, secret)


def _post(db: Database, job: _Job, url: str, secret: str) -> None:
    # The exact bytes signed are the bytes sent; receivers verify over the raw body.
    body = json.dumps(job.payload, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode()
    headers = sign(secret, body, int(time.time()), job.idempotency_key)
    try:
        response = _http().post(
            url, data=body, headers=headers, timeout=TIMEOUTS, allow_redirects=False, stream=True
        )
        receipt = _receipt(response)
    except requests.RequestException as exc:
        error = f"{type(exc).__name__}: {exc}"
        _attempted(db, job.delivery_id, error, None)
        raise ConnectionError(error) from exc
    status = response.status_code
    if 200 <= status < 300:
        _settle(db, job.delivery_id, push_state=DELIVERED, receipt=receipt, attempted=True)
        log.info("event=office_push_delivered delivery=%s office=%s", job.delivery_id, job.office_key)
        return
    error = f"HTTP {status} from {url}: {receipt['body'][:200]}"
    _attempted(db, job.delivery_id, error, receipt)
    if status in (429, 503):
        wait = retry_after(response.headers.get("Retry-After"), utcnow())
        if wait is not None:
            raise outbox.RetryLater(wait, error)
    if status in (408, 425, 429) or status >= 500:
        raise ConnectionError(error)
    # Redirects are not followed (the record would go somewhere the operator never named) and other 4xx
    # answers say the request itself is wrong: retrying the same bytes cannot help.
    raise outbox.GiveUp(error)


def _receipt(response: requests.Response) -> dict[str, Any]:
    """What the office answered: status, body (at most 4 KB kept), its receipt_id if its JSON has one."""
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_content(1024):
        chunks.append(chunk)
        size += len(chunk)
        if size > RECEIPT_BODY_LIMIT:
            response.close()  # a huge answer is cut, not read to the end
            break
    raw = b"".join(chunks)
    text = raw[:RECEIPT_BODY_LIMIT].decode("utf-8", "replace")
    receipt_id: str | None = None
    if size <= RECEIPT_BODY_LIMIT:
        try:
            parsed = json.loads(raw)
        except ValueError:
            parsed = None
        if isinstance(parsed, dict) and isinstance(parsed.get("receipt_id"), str | int):
            receipt_id = str(parsed["receipt_id"])[:255]
    return {
        "status": response.status_code,
        "body": text,
        "receipt_id": receipt_id,
        "received_at": utcnow().strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


def retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date); None if absent or bad."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        seconds = float(value)
    else:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        reference = now if now.tzinfo is not None else now.replace(tzinfo=UTC)
        seconds = (when - reference).total_seconds()
    return min(max(seconds, 0.0), MAX_RETRY_AFTER.total_seconds())


def _attempted(db: Database, delivery_id: int, error: str, receipt: dict[str, Any] | None) -> None:
    values: dict[str, Any] = {"attempts": OfficeDelivery.attempts + 1, "last_error": error[:2000]}
    if receipt is not None:
        values["receipt"] = receipt
    with db.transaction() as session:
        session.execute(update(OfficeDelivery).where(OfficeDelivery.id == delivery_id).values(**values))


def _settle(
    db: Database,
    delivery_id: int,
    *,
    push_state: str,
    receipt: dict[str, Any] | None = None,
    last_error: str | None = None,
    attempted: bool = False,
) -> None:
    values: dict[str, Any] = {"push_state": push_state, "last_error": last_error}
    if push_state == DELIVERED:
        values["delivered_at"] = utcnow()
    if receipt is not None:
        values["receipt"] = receipt
    if attempted:
        values["attempts"] = OfficeDelivery.attempts + 1
    with db.transaction() as session:
        session.execute(update(OfficeDelivery).where(OfficeDelivery.id == delivery_id).values(**values))


def _office_max_attempts(db: Database, message: dict[str, Any]) -> int:
    with db.read() as session:
        office_key = session.scalar(
            select(OfficeDelivery.office_key).where(OfficeDelivery.id == int(message["delivery_id"]))
        )
    office = current().offices.get(office_key or "")
    return (
        office.push.max_attempts if office is not None and office.push is not None else DEFAULT_MAX_ATTEMPTS
    )


def _mark_parked(session: Session, message: dict[str, Any], error: str) -> None:
    session.execute(
        update(OfficeDelivery)
        .where(OfficeDelivery.id == int(message["delivery_id"]), OfficeDelivery.push_state != DELIVERED)
        .values(push_state=PARKED, parked_at=utcnow(), last_error=error[:2000])
    )


POLICY = outbox.Policy(
    base=timedelta(seconds=5),
    cap=timedelta(hours=1),
    jitter=True,
    max_attempts=_office_max_attempts,
    on_parked=_mark_parked,
)


def register() -> None:
    """Make the outbox send ``records.office`` messages (offices come from ``records_settings``)."""
    outbox.register_handler(TOPIC, deliver, POLICY)


# --- the operator's side: parked deliveries ----------------------------------------------------------


@dataclass(frozen=True)
class ParkedDelivery:
    id: int
    office_key: str
    record_id: str
    event: str
    attempts: int
    last_error: str
    parked_at: datetime | None


def parked(db: Database, office_key: str | None = None) -> list[ParkedDelivery]:
    with db.read() as session:
        query = select(OfficeDelivery).where(OfficeDelivery.push_state == PARKED)
        if office_key:
            query = query.where(OfficeDelivery.office_key == office_key)
        return [
            ParkedDelivery(
                id=row.id,
                office_key=row.office_key,
                record_id=str(row.payload.get("record_id", "")),
                event=row.event,
                attempts=row.attempts,
                last_error=row.last_error or "",
                parked_at=row.parked_at,
            )
            for row in session.scalars(query.order_by(OfficeDelivery.id))
        ]


@dataclass
class Redelivery:
    queued: list[int]
    skipped: dict[int, str]  # delivery id -> why it was not queued


def redeliver(
    db: Database,
    delivery_ids: Iterable[int] = (),
    *,
    all_parked: bool = False,
    office_key: str | None = None,
    actor: str = "operator",
) -> Redelivery:
    """Queue parked deliveries again: a fresh outbox message each (a full set of attempts), push_state
    queued, an audit event. Only parked deliveries are queued; the others are reported with the reason."""
    result = Redelivery(queued=[], skipped={})
    with db.transaction() as session:
        query = select(OfficeDelivery)
        if all_parked:
            query = query.where(OfficeDelivery.push_state == PARKED)
        else:
            wanted = sorted(set(delivery_ids))
            query = query.where(OfficeDelivery.id.in_(wanted))
            found = set(session.scalars(select(OfficeDelivery.id).where(OfficeDelivery.id.in_(wanted))))
            result.skipped.update({i: "no such delivery" for i in wanted if i not in found})
        if office_key:
            query = query.where(OfficeDelivery.office_key == office_key)
        for row in session.scalars(query.order_by(OfficeDelivery.id).with_for_update()):
            if row.push_state != PARKED:
                result.skipped[row.id] = f"not parked (push state {row.push_state or 'none: pulled'})"
                continue
            row.push_state = QUEUED
            row.parked_at = None
            outbox.enqueue(session, TOPIC, {"delivery_id": row.id})
            audit.record(
                session,
                action="record.redeliver",
                subject_type="office_delivery",
                subject_id=row.id,
                actor=actor,
                data={
                    "office": row.office_key,
                    "record": row.payload.get("record_id"),
                    "attempts": row.attempts,
                },
            )
            result.queued.append(row.id)
    return result

"""Scenario builders for the office push tests and bench: an office file that pushes to a receiver, and
educators with confirmed profiles, consent and stack awards whose record events are queued by the lead's
``services/records.queue_office_records`` (the path a grant takes), or written in bulk for the bench."""

from __future__ import annotations

import itertools
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select

from lti_tool.db import Database
from lti_tool.db.base import utcnow
from lti_tool.db.models import CourseMapVersion, OutboxMessage, User
from lti_tool.db.records_models import Award, EducatorProfile, OfficeConsent, OfficeDelivery
from lti_tool.services import outbox, records, records_settings
from lti_tool.services.records_settings import RecordsSettings
from tests.factories import course

OFFICE = "test-push"
SECRET_ENV = "TEST_PUSH_SECRET"
_serial = itertools.count(1)


def office_yaml(url: str, *, max_attempts: int = 8, secret_env: str = SECRET_ENV, key: str = OFFICE) -> str:
    return f"""key: {key}
name: Test Push Office
state: NC
jurisdiction: A test office that takes records by push
unit: {{singular: renewal credit, plural: renewal credits}}
rule: {{kind: hours_per_unit, hours_per_unit: 10, decimals: 1}}
accepts: {{grants: [stack, course_award]}}
receives:
  push: {{url: "{url}", secret_env: {secret_env}, max_attempts: {max_attempts}}}
notes: Ten contact hours are one renewal credit.
"""


def write_offices(directory: Path, url: str, **kwargs: Any) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / f"{kwargs.get('key', OFFICE)}.yaml").write_text(office_yaml(url, **kwargs))
    return directory


@contextmanager
def records_configured(settings: RecordsSettings) -> Iterator[None]:
    """Records settings for one test (create_app sets them for the app; a test may need others)."""
    before = records_settings.current()
    records_settings.configure(settings)
    try:
        yield
    finally:
        records_settings.configure(before)


@dataclass
class Educator:
    user_id: int
    context_id: int
    map_version_id: int


def educator(db: Database, offices: tuple[str, ...] = (OFFICE,)) -> Educator:
    """An educator in a course with a confirmed profile who consents to ``offices``."""
    fixture = course(db, course_key=None)
    n = next(_serial)
    with db.transaction() as session:
        user = User(platform_id=fixture.platform_id, sub=f"push-{n}", name="Zoë Ångström")
        version = CourseMapVersion(
            course_key=f"push-course-{n}",
            revision=1,
            version_label="1",
            title="Learning Differences",
            content_hash=secrets.token_hex(8),
            source_path="tests",
            document={},
        )
        session.add_all([user, version])
        session.flush()
        session.add(
            EducatorProfile(
                user_id=user.id,
                legal_name="Zoë Ångström",
                state="NC",
                licence_number="1234567",
                confirmed_at=utcnow(),
            )
        )
        session.add_all(OfficeConsent(user_id=user.id, office_key=key) for key in offices)
        return Educator(user.id, fixture.context_id, version.id)


def _award(person: Educator, i: int) -> Award:
    return Award(
        public_id=records.new_public_id(),
        context_id=person.context_id,
        user_id=person.user_id,
        kind="stack",
        target_key=f"stack-{i}",
        title=f"Executive Function {i}",
        course_key="learning-differences",
        map_version_id=person.map_version_id,
        contact_hours=Decimal("10.00"),
        ceus=Decimal("1.0"),
        details={
            "credential_count": 2,
            "credentials": [{"key": f"ef-{i}", "title": "Planning", "earned_at": "2026-12-01T17:00:00Z"}],
            "course_title": "Learning Differences",
            "completed_at": "2026-12-01T17:00:00Z",
        },
    )


def issue_records(db: Database, person: Educator, count: int) -> list[OfficeDelivery]:
    """``count`` stack awards for ``person`` and their office records, queued as a grant queues them."""
    with db.transaction() as session:
        awards = [_award(person, next(_serial)) for _ in range(count)]
        session.add_all(awards)
        session.flush()
        deliveries = records.queue_office_records(session, person.user_id, awards)
        session.flush()
        session.expunge_all()
    return deliveries


def bulk_issue(db: Database, person: Educator, count: int, office_key: str = OFFICE) -> None:
    """``count`` awards with pushed records, written in bulk (the bench's seed, not what it measures)."""
    settings = records_settings.current()
    office = settings.offices[office_key]
    with db.transaction() as session:
        profile = session.scalars(
            select(EducatorProfile).where(EducatorProfile.user_id == person.user_id)
        ).one()
        for start in range(0, count, 1000):
            awards = [_award(person, i) for i in range(start, min(count, start + 1000))]
            session.add_all(awards)
            session.flush()
            rows = []
            for award in awards:
                key = secrets.token_hex(16)
                payload = records.record_payload(
                    award,
                    office,
                    profile,
                    Decimal("1.0"),
                    event="issued",
                    idempotency_key=key,
                    settings=settings,
                )
                rows.append(
                    {
                        "award_id": award.id,
                        "user_id": person.user_id,
                        "office_key": office_key,
                        "event": "issued",
                        "idempotency_key": key,
                        "payload": payload,
                        "push_state": "queued",
                        "attempts": 0,
                        "created_at": utcnow(),
                    }
                )
            ids = session.scalars(insert(OfficeDelivery).returning(OfficeDelivery.id), rows).all()
            session.execute(
                insert(OutboxMessage),
                [
                    {
                        "topic": records.PUSH_TOPIC,
                        "payload": {"delivery_id": i},
                        "dedupe_key": f"record:{i}",
                        "created_at": utcnow(),
                        "available_at": utcnow(),
                        "attempts": 0,
                        "dead": False,
                    }
                    for i in ids
                ],
            )
            session.expunge_all()


def delivery(db: Database, delivery_id: int) -> OfficeDelivery:
    with db.read() as session:
        row = session.get(OfficeDelivery, delivery_id)
        assert row is not None
        return row


def deliveries(db: Database) -> list[OfficeDelivery]:
    with db.read() as session:
        return list(session.scalars(select(OfficeDelivery).order_by(OfficeDelivery.id)))


def drain_until_settled(db: Database, passes: int = 40, step: timedelta = timedelta(hours=2)) -> int:
    """Drain again and again on a clock that jumps past every back-off; returns the passes it took."""
    for n in range(1, passes + 1):
        outbox.drain(db, now=utcnow() + step * n)
        if not outbox.pending(db, records.PUSH_TOPIC) or all(
            m.dead for m in outbox.pending(db, records.PUSH_TOPIC)
        ):
            return n
    raise AssertionError(f"the outbox did not settle in {passes} passes")

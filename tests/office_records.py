"""Office record events for the pull API and roster tests: awards and their OfficeDelivery rows, each
payload written by the records service's own ``record_payload`` (so the API is tested on the real shape)."""

from __future__ import annotations

import itertools
import secrets
import textwrap
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from sqlalchemy import select

from lti_tool.db import Database
from lti_tool.db.models import CourseMapVersion
from lti_tool.db.records_models import Award, EducatorProfile, OfficeDelivery
from lti_tool.domain.licensure import OfficeProfile
from lti_tool.services.records import new_public_id, record_payload
from lti_tool.services.records_settings import RecordsSettings
from tests import scenario

SETTINGS = RecordsSettings(base_url="https://tool.example.edu")
_serial = itertools.count(1)

NC_OFFICE = textwrap.dedent(
    """\
    key: nc-dpi
    name: North Carolina Department of Public Instruction
    state: NC
    jurisdiction: North Carolina
    unit: {singular: renewal credit, plural: renewal credits}
    rule: {kind: hours_per_unit, hours_per_unit: 10, decimals: 1}
    accepts: {grants: [stack, course_award]}
    receives: {pull: true, files: [generic, ce_broker]}
    notes: Renewal credits at 10 contact hours each.
    ce_broker: {provider_number: 50-4321, course_number: 20-987654, profession: Teacher}
    """
)
NV_OFFICE = textwrap.dedent(
    """\
    key: nv-ccsd
    name: Clark County School District
    state: NV
    jurisdiction: Clark County
    unit: {singular: contact unit, plural: contact units}
    rule: {kind: hours_per_unit, hours_per_unit: 3, cap_units: 30, decimals: 1}
    accepts: {grants: [stack, course_award]}
    receives: {pull: true, files: [generic]}
    notes: Contact units at 3 hours each, at most 30 from micro-credentials.
    """
)


def write_offices(directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "nc-dpi.yaml").write_text(NC_OFFICE, encoding="utf-8")
    (directory / "nv-ccsd.yaml").write_text(NV_OFFICE, encoding="utf-8")
    return directory


@dataclass
class Records:
    """Makes educators and their record events in one course."""

    db: Database
    offices: dict[str, OfficeProfile]
    course: scenario.Course
    map_version_id: int

    def educator(self, legal_name: str = "Zoë Ångström", state: str = "NC", licence: str = "1234567") -> int:
        user_id = self.course.person(f"lms-{next(_serial)}")
        with self.db.transaction() as session:
            session.add(
                EducatorProfile(
                    user_id=user_id,
                    legal_name=legal_name,
                    state=state,
                    licence_number=licence,
                    confirmed_at=datetime.now(UTC),
                )
            )
        return user_id

    def record(
        self,
        office_key: str,
        user_id: int,
        *,
        at: datetime | None = None,
        title: str = "Executive Function",
        revoke_at: datetime | None = None,
    ) -> str:
        """An issued record event (and a revoked one when ``revoke_at`` is given); its record id."""
        at = at or datetime.now(UTC)
        office = self.offices[office_key]
        with self.db.transaction() as session:
            award = Award(
                public_id=new_public_id(),
                context_id=self.course.context_id,
                user_id=user_id,
                kind="stack",
                target_key=f"stack-{next(_serial)}",
                title=title,
                course_key=self.course.course_key,
                map_version_id=self.map_version_id,
                contact_hours=Decimal("10.00"),
                ceus=Decimal("1.0"),
                details={
                    "course_title": "Learning Differences",
                    "credentials": [
                        {"key": "ef-1", "title": "Planning", "earned_at": "2026-11-30T10:00:00Z"}
                    ],
                    "completed_at": at.strftime("%Y-%m-%dT%H:%M:%SZ"),
                },
                issued_at=at,
            )
            session.add(award)
            session.flush()
            profile = session.scalars(select(EducatorProfile).where(EducatorProfile.user_id == user_id)).one()
            events = [("issued", at)]
            if revoke_at is not None:
                award.revoked_at = revoke_at
                award.revoked_reason = "misconduct"
                events.append(("revoked", revoke_at))
            for event, created in events:
                key = secrets.token_hex(16)
                payload = record_payload(
                    award,
                    office,
                    profile,
                    Decimal("1.0"),
                    event=event,
                    idempotency_key=key,
                    settings=SETTINGS,
                )
                if event == "issued":
                    # The issued event was written before the revocation: it says nothing of it.
                    payload.update(revoked_at=None, revocation_reason=None)
                session.add(
                    OfficeDelivery(
                        award_id=award.id,
                        user_id=user_id,
                        office_key=office_key,
                        event=event,
                        idempotency_key=key,
                        payload=payload,
                        created_at=created,
                    )
                )
            return award.public_id


def records_in(db: Database, offices: dict[str, OfficeProfile]) -> Records:
    c = scenario.course(db, context_id=f"course-{next(_serial)}")
    with db.read() as session:
        version_id = session.scalars(select(CourseMapVersion.id).order_by(CourseMapVersion.id)).first()
    assert version_id is not None
    return Records(db, offices, c, version_id)

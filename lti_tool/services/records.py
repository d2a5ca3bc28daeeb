"""Issue what the tool vouches for, inside the transaction that earned it: an award per earned
micro-credential and per grant (stack CEUs, course award), and, for every licensure office the educator
consented to that counts the grant, a record event for the office (an outbox message when it is pushed to).

Everything here runs under the learner's row lock (services/scope.lock_learner), like the grants."""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..db.base import utcnow
from ..db.insert_once import insert_live_once
from ..db.models import Context, Grant, Submission
from ..db.records_models import Award, EducatorProfile, OfficeConsent, OfficeDelivery
from ..domain.definitions import CourseMap
from ..domain.grants import DueGrant, GrantKind
from ..domain.licensure import OfficeProfile, RecordFacts, accepts, describe_office, units_for
from ..domain.submissions import SubmissionState
from . import audit, outbox
from .records_settings import RecordsSettings, current

PUSH_TOPIC = "records.office"
RECORD_SCHEMA = "microcredential-stacks/ceu-record/v1"
CREDENTIAL = "credential"
_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32: no I, L, O, U to misread


def new_public_id() -> str:
    """A record id people can read out and type: MCS- and ten random base32 characters (50 bits)."""
    return "MCS-" + "".join(secrets.choice(_ALPHABET) for _ in range(10))


def iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _insert_award(session: Session, values: dict[str, Any]) -> Award | None:
    """Insert unless a live award for the same learner and target exists."""
    values = {"public_id": new_public_id(), "issued_at": utcnow(), **values}
    award_id = insert_live_once(session, Award, values)
    return None if award_id is None else session.get(Award, award_id)


def _course_title(session: Session, context_id: int, course: CourseMap) -> str:
    return course.title or (session.get(Context, context_id) or Context(title="")).title


def issue_credential_award(session: Session, sub: Submission, course: CourseMap) -> Award | None:
    """The award (and badge) of one earned micro-credential; ``course`` is the version it was earned under."""
    credential = course.credential(sub.credential_key)
    settings = current()
    award = _insert_award(
        session,
        {
            "context_id": sub.context_id,
            "user_id": sub.user_id,
            "kind": CREDENTIAL,
            "target_key": credential.id,
            "title": credential.title,
            "course_key": course.id,
            "map_version_id": sub.map_version_id,
            "submission_id": sub.id,
            "details": {
                "provider": settings.provider_name,
                "course_title": _course_title(session, sub.context_id, course),
                "description": credential.competency,
                "criteria": credential.key_method,
                "stacks": [s.title for s in course.stacks_containing(credential.id)],
                "earned_at": iso(sub.earned_at),
                "attempt": sub.attempt,
            },
        },
    )
    if award is not None:
        audit.record(
            session,
            action="award.credential",
            subject_type="award",
            subject_id=award.public_id,
            actor="system",
            context_id=sub.context_id,
            map_version_id=sub.map_version_id,
            data={"learner": sub.user_id, "credential": credential.id},
        )
    return award


def _earned(session: Session, context_id: int, user_id: int) -> dict[str, datetime | None]:
    return {
        key: earned_at
        for key, earned_at in session.execute(
            select(Submission.credential_key, Submission.earned_at).where(
                Submission.context_id == context_id,
                Submission.user_id == user_id,
                Submission.state == SubmissionState.EARNED.value,
            )
        )
    }


def _grant_details(course: CourseMap, due: DueGrant, earned: dict[str, datetime | None]) -> dict[str, Any]:
    if due.kind is GrantKind.STACK:
        stack = course.stack(due.target_id)
        keys = [k for k in stack.credential_ids if k in earned]
        description = stack.statement
        count = len(keys)
    else:
        stacks = [course.stack(s) for s in course.award.stack_ids] if course.award else []
        keys = [k for s in stacks for k in s.credential_ids if k in earned]
        description = course.award.title if course.award else ""
        # The stacks' records already counted these credentials with the offices that count credentials.
        count = 0
    return {
        "description": description,
        "credentials": [
            {"key": k, "title": course.credential(k).title, "earned_at": iso(earned[k])} for k in keys
        ],
        "credential_count": count,
    }


def issue_grant_awards(
    session: Session,
    *,
    context_id: int,
    user_id: int,
    course: CourseMap,
    created: Sequence[tuple[int, DueGrant]],
) -> list[Award]:
    """An award per grant this unit of work created, and the office records they call for."""
    if not created:
        return []
    settings = current()
    earned = _earned(session, context_id, user_id)
    awards = []
    for grant_id, due in created:
        grant = session.get(Grant, grant_id)
        assert grant is not None
        details = _grant_details(course, due, earned)
        details.update(
            provider=settings.provider_name,
            course_title=_course_title(session, context_id, course),
            completed_at=iso(grant.granted_at),
        )
        award = _insert_award(
            session,
            {
                "context_id": context_id,
                "user_id": user_id,
                "kind": due.kind.value,
                "target_key": due.target_id,
                "title": due.title,
                "course_key": course.id,
                "map_version_id": grant.map_version_id,
                "grant_id": grant_id,
                "contact_hours": due.contact_hours,
                "ceus": due.ceus,
                "details": details,
            },
        )
        if award is None:
            continue
        audit.record(
            session,
            action=f"award.{due.kind.value}",
            subject_type="award",
            subject_id=award.public_id,
            actor="system",
            context_id=context_id,
            map_version_id=grant.map_version_id,
            data={"learner": user_id, "grant": grant_id, "target": due.target_id},
        )
        awards.append(award)
    queue_office_records(session, user_id, awards)
    return awards


# --- office records ----------------------------------------------------------------------------------


def facts_of(award: Award) -> RecordFacts:
    return RecordFacts(
        record_id=award.public_id,
        granted_at=award.issued_at,
        contact_hours=award.contact_hours or Decimal(0),
        credential_count=int(award.details.get("credential_count", 0)),
        kind=award.kind,
        course_key=award.course_key,
    )


def live_consents(session: Session, user_id: int) -> list[str]:
    return list(
        session.scalars(
            select(OfficeConsent.office_key)
            .where(OfficeConsent.user_id == user_id, OfficeConsent.withdrawn_at.is_(None))
            .order_by(OfficeConsent.office_key)
        )
    )


def _earlier_records(session: Session, user_id: int, office_key: str, before: Award) -> list[RecordFacts]:
    """The educator's live records this office received before ``before`` (in grant order)."""
    rows = session.scalars(
        select(Award)
        .join(OfficeDelivery, OfficeDelivery.award_id == Award.id)
        .where(
            OfficeDelivery.user_id == user_id,
            OfficeDelivery.office_key == office_key,
            OfficeDelivery.event == "issued",
            Award.revoked_at.is_(None),
            Award.id != before.id,
        )
        .order_by(Award.issued_at, Award.id)
    )
    return [facts_of(a) for a in rows]


def record_payload(
    award: Award,
    office: OfficeProfile,
    profile: EducatorProfile,
    units: Decimal,
    *,
    event: str,
    idempotency_key: str,
    settings: RecordsSettings,
) -> dict[str, Any]:
    details = award.details
    return {
        "schema": RECORD_SCHEMA,
        "event": event,
        "record_id": award.public_id,
        "idempotency_key": idempotency_key,
        "office": office.key,
        "issued_at": iso(award.issued_at),
        "revoked_at": iso(award.revoked_at),
        "revocation_reason": award.revoked_reason,
        "educator": {
            "legal_name": profile.legal_name,
            "state": profile.state,
            "licence_number": profile.licence_number,
        },
        "provider": {"name": details.get("provider", settings.provider_name), "url": settings.base_url},
        "course": {"key": award.course_key, "title": details.get("course_title", "")},
        "award": {
            "kind": award.kind,
            "key": award.target_key,
            "title": award.title,
            "credentials": list(details.get("credentials", [])),
            "contact_hours": str(award.contact_hours),
            "ceus": str(award.ceus),
            "completed_at": details.get("completed_at") or iso(award.issued_at),
        },
        "office_units": {
            "amount": str(units),
            "unit": office.unit_name(units),
            "rule": describe_office(office),
        },
        "verification_url": settings.record_url(award.public_id),
    }


def _add_delivery(
    session: Session,
    award: Award,
    office: OfficeProfile,
    profile: EducatorProfile,
    units: Decimal,
    event: str,
    settings: RecordsSettings,
) -> OfficeDelivery | None:
    exists = session.scalar(
        select(OfficeDelivery.id).where(
            OfficeDelivery.award_id == award.id,
            OfficeDelivery.office_key == office.key,
            OfficeDelivery.event == event,
        )
    )
    if exists is not None:
        return None
    key = secrets.token_hex(16)
    delivery = OfficeDelivery(
        award_id=award.id,
        user_id=award.user_id,
        office_key=office.key,
        event=event,
        idempotency_key=key,
        payload=record_payload(
            award, office, profile, units, event=event, idempotency_key=key, settings=settings
        ),
        push_state="queued" if office.push is not None else None,
    )
    session.add(delivery)
    session.flush()
    if office.push is not None:
        outbox.enqueue(session, PUSH_TOPIC, {"delivery_id": delivery.id}, dedupe_key=f"record:{key}")
    audit.record(
        session,
        action=f"record.{event}",
        subject_type="award",
        subject_id=award.public_id,
        actor="system",
        context_id=award.context_id,
        data={"office": office.key, "delivery": delivery.id, "units": str(units)},
    )
    return delivery


def queue_office_records(
    session: Session, user_id: int, awards: Iterable[Award], offices: Iterable[str] | None = None
) -> list[OfficeDelivery]:
    """Record events for the offices the educator consented to (or ``offices``, a subset) that count these
    grant awards. Without a confirmed profile there is nothing an office could file, so nothing is queued."""
    settings = current()
    profile = session.scalar(select(EducatorProfile).where(EducatorProfile.user_id == user_id))
    if profile is None or profile.confirmed_at is None:
        return []
    keys = live_consents(session, user_id)
    if offices is not None:
        keys = [k for k in keys if k in set(offices)]
    made = []
    for award in awards:
        if award.kind == CREDENTIAL or award.revoked_at is not None:
            continue
        facts = facts_of(award)
        for key in keys:
            office = settings.offices.get(key)
            if office is None or not accepts(office, facts):
                continue
            earlier = [f for f in _earlier_records(session, user_id, key, award) if accepts(office, f)]
            units = units_for(office.rule, facts, earlier)
            delivery = _add_delivery(session, award, office, profile, units, "issued", settings)
            if delivery is not None:
                made.append(delivery)
    return made


def queue_revocations(session: Session, award: Award) -> list[OfficeDelivery]:
    """Tell every office that received ``award`` that it is revoked (whatever the consent is now: they
    hold the record)."""
    settings = current()
    profile = session.scalar(select(EducatorProfile).where(EducatorProfile.user_id == award.user_id))
    made = []
    for issued in session.scalars(
        select(OfficeDelivery).where(OfficeDelivery.award_id == award.id, OfficeDelivery.event == "issued")
    ):
        office = settings.offices.get(issued.office_key)
        if office is None or profile is None:
            continue
        units = Decimal(issued.payload.get("office_units", {}).get("amount", "0"))
        delivery = _add_delivery(session, award, office, profile, units, "revoked", settings)
        if delivery is not None:
            made.append(delivery)
    return made

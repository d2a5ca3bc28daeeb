"""Record CEU grants exactly once: the unique key decides, an existing grant is left as it is."""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..db.base import utcnow
from ..db.insert_once import insert_live_once
from ..db.models import Grant, Submission
from ..domain.definitions import CourseMap
from ..domain.grants import DueGrant, GrantKind, due_grants
from ..domain.submissions import SubmissionState
from . import audit, records


def earned_credentials(session: Session, context_id: int, user_id: int) -> set[str]:
    return set(
        session.scalars(
            select(Submission.credential_key).where(
                Submission.context_id == context_id,
                Submission.user_id == user_id,
                Submission.state == SubmissionState.EARNED.value,
            )
        )
    )


def grant_due(
    session: Session,
    *,
    context_id: int,
    user_id: int,
    course: CourseMap,
    map_version_id: int,
    actor_user_id: int | None,
    stack_versions: Mapping[str, int] | None = None,
) -> list[tuple[int, DueGrant]]:
    """Insert every grant now due that is not yet recorded; returns the ones this call created.

    ``course`` is the course as the learner is judged by it (services/learner_maps.py); a stack's grant
    records the version that judged it (``stack_versions``), the course award ``map_version_id``."""
    created: list[tuple[int, DueGrant]] = []
    for due in due_grants(course, earned_credentials(session, context_id, user_id)):
        version_id = map_version_id
        if due.kind is GrantKind.STACK and stack_versions:
            version_id = stack_versions.get(due.target_id, map_version_id)
        grant_id = insert_live_once(
            session,
            Grant,
            {
                "context_id": context_id,
                "user_id": user_id,
                "kind": due.kind.value,
                "target_key": due.target_id,
                "title": due.title,
                "course_key": course.id,
                "map_version_id": version_id,
                "contact_hours": due.contact_hours,
                "ceus": due.ceus,
                "granted_at": utcnow(),
            },
        )
        if grant_id is None:
            continue
        audit.record(
            session,
            action=f"grant.{due.kind.value}",
            subject_type="grant",
            subject_id=grant_id,
            actor_user_id=actor_user_id,
            actor=None if actor_user_id else "system",
            context_id=context_id,
            map_version_id=version_id,
            data={
                "learner": user_id,
                "target": due.target_id,
                "contact_hours": str(due.contact_hours),
                "ceus": str(due.ceus),
            },
        )
        created.append((grant_id, due))
    records.issue_grant_awards(
        session, context_id=context_id, user_id=user_id, course=course, created=created
    )
    return created

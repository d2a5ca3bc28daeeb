"""Which map version judges a learner, stack by stack (see domain/learner_map.py and
docs/decisions/0003-course-maps-as-versioned-yaml.md).

A ``learner_stack_versions`` row records the version live at the learner's first evidence action on any
credential of a stack; without one, the stack follows the live version. Rows of another course map than the
one the course follows now are ignored, so a course moved to another map starts afresh.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from ..db.base import utcnow
from ..db.models import Context, LearnerStackVersion
from ..domain.definitions import CourseMap
from ..domain.learner_map import as_started, credential_source
from . import audit
from .map_versions import course_map_for_version
from .scope import context_course


@dataclass(frozen=True)
class LearnerCourse:
    """A learner's course: ``course`` is the live version with each stack they started under an older
    version as it was then; ``stack_versions`` gives the version that judges each live stack."""

    context: Context
    live: CourseMap
    live_version_id: int
    course: CourseMap
    stack_versions: dict[str, int]
    started: dict[str, CourseMap]  # stack id -> the older version it is judged by
    recorded: frozenset[str]  # stacks with a recorded version (the learner has started them)

    def credential_version(self, credential_key: str) -> int:
        """The version whose definition of the credential the learner works to (and is assessed by)."""
        stack_id = credential_source(self.live, self.started, credential_key)
        return self.live_version_id if stack_id is None else self.stack_versions[stack_id]


def _recorded(session: Session, context: Context, user_id: int) -> dict[str, int]:
    rows = session.execute(
        select(LearnerStackVersion.stack_key, LearnerStackVersion.map_version_id).where(
            LearnerStackVersion.context_id == context.id,
            LearnerStackVersion.user_id == user_id,
            LearnerStackVersion.course_key == context.course_key,
        )
    ).all()
    return {str(stack_key): int(version_id) for stack_key, version_id in rows}


def started_under(
    live_id: int, recorded: Mapping[str, int], version: Callable[[int], CourseMap]
) -> dict[str, CourseMap]:
    """Stack id -> the older version (``version(id)`` gives it) the learner started it under and is judged
    by; stacks recorded under the live version, or missing from their recorded version, follow the live."""
    started: dict[str, CourseMap] = {}
    for stack_key, version_id in recorded.items():
        if version_id == live_id:
            continue
        then = version(version_id)
        if any(s.id == stack_key for s in then.stacks):
            started[stack_key] = then
    return started


def learner_course(session: Session, context_id: int, user_id: int) -> LearnerCourse:
    """The course as this learner is judged by it."""
    context, live, live_id = context_course(session, context_id)
    recorded = _recorded(session, context, user_id)
    started = started_under(live_id, recorded, lambda version_id: course_map_for_version(session, version_id))
    versions = {s.id: recorded[s.id] if s.id in started else live_id for s in live.stacks}
    return LearnerCourse(
        context, live, live_id, as_started(live, started), versions, started, frozenset(recorded)
    )


def start_stacks(session: Session, learner: LearnerCourse, user_id: int, credential_key: str) -> list[str]:
    """Record the live version for every stack containing ``credential_key`` that the learner had not
    started: called by each evidence action, inside its unit of work and under the learner's lock.
    Returns the stacks started now."""
    new = [s.id for s in learner.course.stacks_containing(credential_key) if s.id not in learner.recorded]
    if not new:
        return []
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    started: list[str] = []
    for stack_key in new:
        created = session.execute(
            insert(LearnerStackVersion)
            .values(
                context_id=learner.context.id,
                user_id=user_id,
                course_key=learner.live.id,
                stack_key=stack_key,
                map_version_id=learner.live_version_id,
                started_at=utcnow(),
            )
            .on_conflict_do_nothing(index_elements=["context_id", "user_id", "course_key", "stack_key"])
            .returning(LearnerStackVersion.id)
        ).scalar()
        if created is None:
            continue
        started.append(stack_key)
        audit.record(
            session,
            action="stack.started",
            subject_type="learner_stack_version",
            subject_id=created,
            actor_user_id=user_id,
            context_id=learner.context.id,
            map_version_id=learner.live_version_id,
            data={"learner": user_id, "stack": stack_key, "credential": credential_key},
        )
    return started

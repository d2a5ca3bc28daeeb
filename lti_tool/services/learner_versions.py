"""Course designers see which learners follow an older version of a stack, and move them on to the live one.

A learner keeps the version they started a stack under (services/learner_maps.py) until a designer moves
them on, one learner or every learner of a stack at once. A stack whose CEUs are granted is finished: its
grant keeps the version it was earned under, and its learner is not moved. Moving is audited and, when
the live version asks for less than the old one did, may complete the stack there and then (granted in
the same unit of work, with its gradebook message).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, and_, select
from sqlalchemy.orm import Session

from ..db import Database
from ..db.models import CourseMapVersion, Grant, LearnerStackVersion, User
from . import audit
from .assessment import enqueue_stack_scores
from .errors import Conflict, NotFound
from .grants import grant_due
from .learner_maps import learner_course
from .scope import context_course, lock_learner


@dataclass(frozen=True)
class LearnerBehind:
    user_id: int
    name: str
    revision: int
    version_label: str


@dataclass(frozen=True)
class StackBehind:
    stack_key: str
    title: str
    learners: list[LearnerBehind]


@dataclass(frozen=True)
class VersionRow:
    version_id: int
    revision: int
    version_label: str
    loaded_at: datetime
    source: str


@dataclass(frozen=True)
class OlderVersions:
    """The course's map and its versions (oldest first), and per live stack the learners (without its
    grant) judged by an older version."""

    course_key: str
    course_title: str
    live_revision: int
    live_version_label: str
    versions: list[VersionRow]
    stacks: list[StackBehind]


@dataclass(frozen=True)
class MoveResult:
    stack_key: str
    moved: list[int]  # user ids now on the live version
    granted: list[tuple[int, int]]  # (user id, grant id) completed by the move


def _ungranted(context_id: int) -> ColumnElement[bool]:
    return ~(
        select(Grant.id)
        .where(
            Grant.context_id == context_id,
            Grant.user_id == LearnerStackVersion.user_id,
            Grant.kind == "stack",
            Grant.target_key == LearnerStackVersion.stack_key,
            Grant.course_key == LearnerStackVersion.course_key,
            Grant.revoked_at.is_(None),
        )
        .exists()
    )


def learners_on_older_versions(db: Database, context_id: int) -> OlderVersions:
    with db.read() as session:
        context, live, live_id = context_course(session, context_id)
        version = session.get(CourseMapVersion, live_id)
        assert version is not None  # context_course found it
        versions = [
            VersionRow(v.id, v.revision, v.version_label, v.loaded_at, v.source_path)
            for v in session.scalars(
                select(CourseMapVersion)
                .where(CourseMapVersion.course_key == version.course_key)
                .order_by(CourseMapVersion.revision)
            )
        ]
        rows = session.execute(
            select(
                LearnerStackVersion.stack_key,
                LearnerStackVersion.user_id,
                User.name,
                CourseMapVersion.revision,
                CourseMapVersion.version_label,
            )
            .join(User, User.id == LearnerStackVersion.user_id)
            .join(CourseMapVersion, CourseMapVersion.id == LearnerStackVersion.map_version_id)
            .where(
                and_(
                    LearnerStackVersion.context_id == context_id,
                    LearnerStackVersion.course_key == context.course_key,
                    LearnerStackVersion.map_version_id != live_id,
                    _ungranted(context_id),
                )
            )
            .order_by(User.name, LearnerStackVersion.user_id)
        ).all()
    behind: dict[str, list[LearnerBehind]] = {}
    for stack_key, user_id, name, revision, label in rows:
        behind.setdefault(stack_key, []).append(
            LearnerBehind(user_id, name or f"Learner {user_id}", revision, label)
        )
    stacks = [StackBehind(s.id, s.title, behind[s.id]) for s in live.stacks if s.id in behind]
    return OlderVersions(live.id, live.title, version.revision, version.version_label, versions, stacks)


def move_to_live_version(
    db: Database, context_id: int, stack_key: str, actor_user_id: int, user_id: int | None = None
) -> MoveResult:
    """Move one learner (``user_id``) or every learner of the stack on to the live version, in one unit of
    work; each learner's lock is taken before their record is read again and changed."""
    with db.transaction() as session:
        context, live, live_id = context_course(session, context_id)
        if all(s.id != stack_key for s in live.stacks):
            raise NotFound("unknown_stack", f"No stack {stack_key!r} in this course's map.")
        candidates = select(LearnerStackVersion.user_id).where(
            LearnerStackVersion.context_id == context_id,
            LearnerStackVersion.course_key == context.course_key,
            LearnerStackVersion.stack_key == stack_key,
            LearnerStackVersion.map_version_id != live_id,
        )
        if user_id is not None:
            candidates = candidates.where(LearnerStackVersion.user_id == user_id)
        user_ids = sorted(set(session.scalars(candidates)))  # one lock order for every mover
        result = MoveResult(stack_key, [], [])
        for uid in user_ids:
            _move_one(
                session, context_id, str(context.course_key), stack_key, uid, live_id, actor_user_id, result
            )
        if user_id is not None and not result.moved:
            raise Conflict(
                "not_on_an_older_version",
                "This learner already follows the live version of this stack, or has its CEUs "
                "(a granted stack keeps the version it was earned under).",
            )
        return result


def _move_one(
    session: Session,
    context_id: int,
    course_key: str,
    stack_key: str,
    user_id: int,
    live_id: int,
    actor_user_id: int,
    result: MoveResult,
) -> None:
    lock_learner(session, context_id, user_id)
    # Read again under the lock: a decision that granted the stack meanwhile wins, and nothing moves.
    row = session.scalars(
        select(LearnerStackVersion)
        .where(
            LearnerStackVersion.context_id == context_id,
            LearnerStackVersion.user_id == user_id,
            LearnerStackVersion.course_key == course_key,
            LearnerStackVersion.stack_key == stack_key,
            LearnerStackVersion.map_version_id != live_id,
            _ungranted(context_id),
        )
        .execution_options(populate_existing=True)
    ).one_or_none()
    if row is None:
        return
    previous = row.map_version_id
    row.map_version_id = live_id
    session.flush()
    audit.record(
        session,
        action="learner.stack_version_moved",
        subject_type="learner_stack_version",
        subject_id=row.id,
        actor_user_id=actor_user_id,
        context_id=context_id,
        map_version_id=live_id,
        data={"learner": user_id, "stack": stack_key, "from_version": previous, "to_version": live_id},
    )
    result.moved.append(user_id)
    learner = learner_course(session, context_id, user_id)
    created = grant_due(
        session,
        context_id=context_id,
        user_id=user_id,
        course=learner.course,
        map_version_id=live_id,
        actor_user_id=actor_user_id,
        stack_versions=learner.stack_versions,
    )
    result.granted.extend((user_id, grant_id) for grant_id, _ in created)
    enqueue_stack_scores(
        session, context_id, user_id, learner.course, [learner.course.stack(stack_key)], created
    )

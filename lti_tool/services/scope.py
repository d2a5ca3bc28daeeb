"""Lookups every use case needs: the context's course map and the learner's lock."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..db.models import Context, Course, Membership
from ..domain.definitions import CourseMap
from .errors import CourseNotConfigured, NotFound
from .map_versions import course_map_for_version


def context_course(session: Session, context_id: int) -> tuple[Context, CourseMap, int]:
    """The context, its course map (current version) and that version's id."""
    context = session.get(Context, context_id)
    if context is None:
        raise NotFound("unknown_context", "This course is not known to the tool.")
    if context.course_key is None:
        raise CourseNotConfigured()
    course = session.get(Course, context.course_key)
    if course is None or course.current_version_id is None:
        raise CourseNotConfigured()
    return context, course_map_for_version(session, course.current_version_id), course.current_version_id


def lock_learner(session: Session, context_id: int, user_id: int) -> Membership:
    """Serialise every decision about one learner in one course (SELECT ... FOR UPDATE).

    Two assessors approving a learner's last two credentials at the same instant would otherwise
    each see only their own approval and neither would grant the stack's CEUs.
    """
    membership = session.scalar(
        select(Membership)
        .where(Membership.context_id == context_id, Membership.user_id == user_id)
        .with_for_update()
    )
    if membership is None:
        membership = Membership(context_id=context_id, user_id=user_id, roles=[], source="evidence")
        session.add(membership)
        session.flush()
    return membership

"""Lookups every use case needs: the context's course map and the learner's lock."""

from __future__ import annotations

from sqlalchemy import bindparam, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from ..db.models import Context, Course, CourseMapVersion, Membership
from ..domain.definitions import CourseMap
from .errors import CourseNotConfigured, NotFound
from .map_versions import course_map_of

# session.info key: the unit of work's transaction, and the (context, learner) pairs it locked.
_LOCKED_LEARNERS = "locked_learners"


# Asked by every page: the context with its course's current version and that version's identity, in one
# statement (the parsed map itself is cached per process: map_versions).
_CONTEXT_COURSE = (
    select(Context, Course.current_version_id, CourseMapVersion.course_key, CourseMapVersion.content_hash)
    .outerjoin(Course, Course.key == Context.course_key)
    .outerjoin(CourseMapVersion, CourseMapVersion.id == Course.current_version_id)
    .where(Context.id == bindparam("context_id"))
)


def context_course(session: Session, context_id: int) -> tuple[Context, CourseMap, int]:
    """The context, its course map (current version) and that version's id."""
    row = session.execute(_CONTEXT_COURSE, {"context_id": context_id}).first()
    if row is None:
        raise NotFound("unknown_context", "This course is not known to the tool.")
    context, version_id, course_key, content_hash = row
    if context.course_key is None or version_id is None:
        raise CourseNotConfigured()
    return context, course_map_of(session, version_id, course_key, content_hash), version_id


def lock_learner(session: Session, context_id: int, user_id: int) -> Membership:
    """Serialise every write about one learner in one course: their evidence, its decisions, their grants.

    Call it first in the unit of work, before reading anything the write decides on: under READ COMMITTED
    every later statement then sees what the previous holder of the lock committed (a second submit sees
    "submitted"; two assessors approving the last two credentials see each other's approval). PostgreSQL:
    ``SELECT ... FOR UPDATE`` on the learner's ``memberships`` row, which is created first if missing
    (``ON CONFLICT DO NOTHING``, so two first writers still queue on one row). SQLite: the same statements
    lock nothing; ``transaction()`` already holds the database's write lock from ``BEGIN IMMEDIATE``.
    """
    locked = (
        select(Membership)
        .where(Membership.context_id == context_id, Membership.user_id == user_id)
        .with_for_update()
    )
    membership = session.scalar(locked)
    if membership is None:
        insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
        session.execute(
            insert(Membership)
            .values(context_id=context_id, user_id=user_id, roles=[], source="evidence")
            .on_conflict_do_nothing(index_elements=["context_id", "user_id"])
        )
        membership = session.scalars(locked).one()
    transaction = session.get_transaction()
    held = session.info.get(_LOCKED_LEARNERS)
    if held is None or held[0] is not transaction:
        learners: set[tuple[int, int]] = set()
        held = session.info[_LOCKED_LEARNERS] = (transaction, learners)
    held[1].add((context_id, user_id))
    return membership


def require_learner_lock(session: Session, context_id: int, user_id: int) -> None:
    """Refuse a write to a learner's evidence whose unit of work did not start with ``lock_learner``."""
    held = session.info.get(_LOCKED_LEARNERS)
    if held is None or held[0] is not session.get_transaction() or (context_id, user_id) not in held[1]:
        raise RuntimeError(
            "A write to a learner's evidence must call lock_learner() first in its transaction."
        )

"""Which course map a course follows (read fresh: a session's launch may predate a binding), the loaded maps
to choose from with their stacks, and what changing the map would change for learners: the designer's
confirm step says it before ``progress.bind_course`` does it."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import distinct, func, select

from ..db import Database
from ..db.models import Context, Grant, Submission
from ..domain.definitions import CourseMap
from .course_maps import CourseMapNotFound, CourseSummary, get_course_map, list_courses
from .errors import NotFound


def bound_course_map(db: Database, context_id: int) -> CourseMap | None:
    """The current version of the map the course follows now, or None when it follows none (yet)."""
    with db.read() as session:
        context = session.get(Context, context_id)
        if context is None:
            raise NotFound("unknown_context", "This course is not known to the tool.")
        course_key = context.course_key
    if course_key is None:
        return None
    try:
        return get_course_map(db, course_key)
    except CourseMapNotFound:
        return None


def loaded_maps(db: Database) -> list[tuple[CourseSummary, CourseMap]]:
    """Every loaded course map (its current version), to choose which one a course follows."""
    return [(summary, get_course_map(db, summary.key, summary.version_id)) for summary in list_courses(db)]


@dataclass(frozen=True)
class MapChangePreview:
    current_key: str | None  # what the course follows now (None: not bound yet)
    current: CourseMap | None
    new: CourseMap
    learners_with_evidence: int  # learners with any evidence in this course
    learners_with_grants: int  # learners with CEUs or awards granted under the current map
    carried_credentials: tuple[str, ...]  # credential ids both maps have: that evidence counts in the new one
    missing_stacks: tuple[str, ...]  # titles of the current map's stacks the new map does not have


def map_change_preview(db: Database, context_id: int, new_key: str) -> MapChangePreview:
    """The course's current map, the one it would follow, and whose progress the change touches."""
    try:
        new = get_course_map(db, new_key)
    except CourseMapNotFound:
        raise NotFound("unknown_course_map", f"No course map {new_key!r} is loaded.") from None
    with db.read() as session:
        context = session.get(Context, context_id)
        if context is None:
            raise NotFound("unknown_context", "This course is not known to the tool.")
        current_key = context.course_key
        with_evidence = session.scalar(
            select(func.count(distinct(Submission.user_id))).where(Submission.context_id == context_id)
        )
        with_grants = session.scalar(
            select(func.count(distinct(Grant.user_id))).where(
                Grant.context_id == context_id,
                Grant.course_key == current_key,
                Grant.revoked_at.is_(None),
            )
        )
    current = None
    if current_key is not None:
        try:
            current = get_course_map(db, current_key)
        except CourseMapNotFound:
            current = None
    new_credentials = {cr.id for cr in new.credentials}
    new_stacks = {s.id for s in new.stacks}
    return MapChangePreview(
        current_key=current_key,
        current=current,
        new=new,
        learners_with_evidence=int(with_evidence or 0),
        learners_with_grants=int(with_grants or 0),
        carried_credentials=tuple(
            cr.id for cr in (current.credentials if current else ()) if cr.id in new_credentials
        ),
        missing_stacks=tuple(s.title for s in (current.stacks if current else ()) if s.id not in new_stacks),
    )

"""Course map versions as domain values. Versions never change, so each is parsed once per process."""

from __future__ import annotations

from sqlalchemy.orm import Session

from ..db.models import CourseMapVersion
from ..domain.definitions import CourseMap
from ..maps import course_map_from_document
from .errors import NotFound

_parsed: dict[str, CourseMap] = {}


def course_map_for_version(session: Session, version_id: int) -> CourseMap:
    version = session.get(CourseMapVersion, version_id)
    if version is None:
        raise NotFound("unknown_map_version", f"Course map version {version_id} does not exist.")
    key = f"{version.course_key}:{version.content_hash}"
    course = _parsed.get(key)
    if course is None:
        course = course_map_from_document(version.document)
        _parsed[key] = course
    return course

"""Course map versions as domain values. Versions never change, so each is parsed once per process."""

from __future__ import annotations

from sqlalchemy import Connection, bindparam, select
from sqlalchemy.orm import Session

from ..db.models import CourseMapVersion
from ..domain.definitions import CourseMap
from ..maps import course_map_from_document
from .errors import NotFound

_parsed: dict[str, CourseMap] = {}
_VERSIONS = CourseMapVersion.__table__
# Asked on every page: the version's identity only. Its document (the whole map as JSON) is read and parsed
# only the first time this process meets that content.
_IDENTITY = select(_VERSIONS.c.course_key, _VERSIONS.c.content_hash).where(
    _VERSIONS.c.id == bindparam("version_id")
)
_DOCUMENT = select(_VERSIONS.c.document).where(_VERSIONS.c.id == bindparam("version_id"))


def course_map_for_version(session: Session, version_id: int) -> CourseMap:
    identity = session.connection().execute(_IDENTITY, {"version_id": version_id}).first()
    if identity is None:
        raise NotFound("unknown_map_version", f"Course map version {version_id} does not exist.")
    return course_map_of(session, version_id, identity.course_key, identity.content_hash)


def course_map_of(
    source: Session | Connection, version_id: int, course_key: str, content_hash: str
) -> CourseMap:
    """The version whose identity (course key, content hash) the caller read itself, in a statement it
    needed anyway (``scope.context_course``, ``db.learner_standing``). A document not parsed yet is read
    on ``source``: in a snapshot of its own if that is an autocommit connection, which is safe, since a
    version never changes."""
    key = f"{course_key}:{content_hash}"
    course = _parsed.get(key)
    if course is None:
        conn = source.connection() if isinstance(source, Session) else source
        document = conn.execute(_DOCUMENT, {"version_id": version_id}).scalar_one()
        course = course_map_from_document(document)
        _parsed[key] = course
    return course

"""Use cases for course maps: load map files as immutable, numbered versions; read the current or an old one.

Loading is idempotent: the content hash of the normalized document decides whether a map changed. An edit
adds a ``CourseMapVersion`` (revision + 1) with its own stack and credential rows and moves
``Course.current_version_id``; old versions stay as they were, because awards point at the version they
were earned under. Two loaders racing each other are settled by the unique keys on
(course_key, content_hash) and (course_key, revision): the loser retries and finds the winner's row.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..db import Database
from ..db.models import Course, CourseMapVersion, CredentialDef, StackCredential, StackDef
from ..domain.definitions import CourseMap
from ..maps import CourseMapInvalid, LoadedMap, MapError, course_map_from_document, read_course_map

_ATTEMPTS = 5


class CourseMapNotFound(LookupError):
    """No such course, or no such version of it."""


@dataclass(frozen=True)
class LoadResult:
    course_key: str
    revision: int
    version_id: int
    created: bool  # a new version was written
    became_current: bool = False  # the course now points at this version and did not before


@dataclass(frozen=True)
class CourseSummary:
    key: str
    title: str
    version_label: str
    revision: int
    version_id: int
    stacks: int
    credentials: int


def discover_maps(directory: str | Path) -> list[Path]:
    """Every subdirectory of ``directory`` holding a course.yaml, sorted by name."""
    root = Path(directory)
    if not root.is_dir():
        return []
    return sorted(p for p in root.iterdir() if p.is_dir() and (p / "course.yaml").is_file())


def read_maps(paths: Iterable[str | Path]) -> list[LoadedMap]:
    """Read and validate every map; raises ``CourseMapInvalid`` with all errors if any map is invalid."""
    loaded: list[LoadedMap] = []
    errors: list[MapError] = []
    for path in paths:
        try:
            loaded.append(read_course_map(path))
        except CourseMapInvalid as exc:
            errors.extend(exc.errors)
    if errors:
        raise CourseMapInvalid(errors)
    keys = [m.course_map.id for m in loaded]
    duplicated = sorted({k for k in keys if keys.count(k) > 1})
    if duplicated:
        raise CourseMapInvalid(
            MapError(m.source_path, 0, 0, "", f"course id '{m.course_map.id}' is given by more than one map")
            for m in loaded
            if m.course_map.id in duplicated
        )
    return loaded


def load_course_maps(db: Database, paths: Iterable[str | Path]) -> list[LoadResult]:
    """Validate every map first, then load each in its own transaction. Invalid input loads nothing."""
    return [load_map(db, loaded) for loaded in read_maps(paths)]


def load_map(db: Database, loaded: LoadedMap) -> LoadResult:
    for attempt in range(1, _ATTEMPTS + 1):
        try:
            with db.transaction() as session:
                return _load(session, loaded)
        except IntegrityError:
            # Another process inserted the same course or version first; its row is visible now.
            if attempt == _ATTEMPTS:
                raise
    raise AssertionError("unreachable")


def load_in(session: Session, loaded: LoadedMap) -> LoadResult:
    """Load ``loaded`` inside the caller's unit of work (a designer's upload, published and audited there)."""
    return _load(session, loaded)


def _load(session: Session, loaded: LoadedMap) -> LoadResult:
    key = loaded.course_map.id
    course = session.execute(select(Course).where(Course.key == key).with_for_update()).scalar_one_or_none()
    if course is None:
        course = Course(key=key, title=loaded.course_map.title)
        session.add(course)
        session.flush()
    existing = session.execute(
        select(CourseMapVersion).where(
            CourseMapVersion.course_key == key, CourseMapVersion.content_hash == loaded.content_hash
        )
    ).scalar_one_or_none()
    if existing is not None:
        moved = course.current_version_id != existing.id
        course.current_version_id = existing.id
        course.title = existing.title
        return LoadResult(key, existing.revision, existing.id, created=False, became_current=moved)

    last = session.scalar(
        select(func.max(CourseMapVersion.revision)).where(CourseMapVersion.course_key == key)
    )
    version = CourseMapVersion(
        course_key=key,
        revision=(last or 0) + 1,
        version_label=loaded.course_map.version,
        title=loaded.course_map.title,
        content_hash=loaded.content_hash,
        source_path=loaded.source_path,
        document=loaded.document,
    )
    session.add(version)
    session.flush()
    _add_definitions(session, version.id, loaded.course_map)
    course.current_version_id = version.id
    course.title = loaded.course_map.title
    return LoadResult(key, version.revision, version.id, created=True, became_current=True)


def _add_definitions(session: Session, version_id: int, course_map: CourseMap) -> None:
    for credential in course_map.credentials:
        session.add(
            CredentialDef(map_version_id=version_id, credential_key=credential.id, title=credential.title)
        )
    for stack in course_map.stacks:
        stack_def = StackDef(
            map_version_id=version_id,
            stack_key=stack.id,
            title=stack.title,
            contact_hours=Decimal(str(stack.contact_hours)),
            choose=stack.rule.choose,
        )
        session.add(stack_def)
        session.flush()
        for credential_id in stack.credential_ids:
            session.add(
                StackCredential(
                    stack_def_id=stack_def.id,
                    credential_key=credential_id,
                    required=credential_id in stack.rule.required,
                )
            )


# --- reading ---------------------------------------------------------------------------------------

# Versions never change, so a version's CourseMap is cached for the life of its Database (one per app).
_cache: weakref.WeakKeyDictionary[Database, dict[int, CourseMap]] = weakref.WeakKeyDictionary()
_cache_lock = threading.Lock()


def current_version_id(db: Database, course_key: str) -> int:
    with db.read() as session:
        version_id = session.scalar(select(Course.current_version_id).where(Course.key == course_key))
    if version_id is None:
        raise CourseMapNotFound(f"no course map loaded for course '{course_key}'")
    return version_id


def get_course_map(db: Database, course_key: str, version_id: int | None = None) -> CourseMap:
    """The course's map at ``version_id``, or at its current version."""
    if version_id is None:
        version_id = current_version_id(db, course_key)
    with _cache_lock:
        cached = _cache.get(db, {}).get(version_id)
    if cached is None:
        with db.read() as session:
            version = session.get(CourseMapVersion, version_id)
            if version is None:
                raise CourseMapNotFound(f"no course map version {version_id}")
            cached = course_map_from_document(version.document)
        with _cache_lock:
            _cache.setdefault(db, {})[version_id] = cached
    if cached.id != course_key:
        raise CourseMapNotFound(
            f"course map version {version_id} belongs to '{cached.id}', not '{course_key}'"
        )
    return cached


def list_courses(db: Database) -> list[CourseSummary]:
    stacks = (
        select(func.count(StackDef.id))
        .where(StackDef.map_version_id == CourseMapVersion.id)
        .scalar_subquery()
    )
    credentials = (
        select(func.count(CredentialDef.id))
        .where(CredentialDef.map_version_id == CourseMapVersion.id)
        .scalar_subquery()
    )
    query = (
        select(
            Course.key,
            Course.title,
            CourseMapVersion.version_label,
            CourseMapVersion.revision,
            CourseMapVersion.id,
            stacks,
            credentials,
        )
        .join(CourseMapVersion, CourseMapVersion.id == Course.current_version_id)
        .order_by(Course.key)
    )
    with db.read() as session:
        return [CourseSummary(*row) for row in session.execute(query).all()]


def loaded_versions(db: Database, course_key: str) -> Sequence[tuple[int, int, str]]:
    """(version id, revision, version label) of every loaded version, oldest first."""
    query = (
        select(CourseMapVersion.id, CourseMapVersion.revision, CourseMapVersion.version_label)
        .where(CourseMapVersion.course_key == course_key)
        .order_by(CourseMapVersion.revision)
    )
    with db.read() as session:
        return [(row[0], row[1], row[2]) for row in session.execute(query).all()]

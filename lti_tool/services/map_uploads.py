"""A course designer publishes a new version of their course's map from the designer pages, no terminal.

They upload the map folder as a zip, or its YAML files (``course.yaml`` and every credential file). The
upload is unpacked into a temporary directory and read by the same code as ``lti-tool course-maps
validate`` (``lti_tool.maps``), so the errors are the command's, ``file:line:column: field: message``, with
paths inside the map folder. A zip is refused as a whole when an entry would land outside the folder
(absolute paths, ``..``, drive letters), is a symbolic link, or when it holds too many or too large files
(sizes are counted as read, not as the archive claims). A valid upload is kept, unpublished, for the
designer to review against the live version (domain/map_diff.py); publishing it loads it as a new version
(immutable, like every version) and makes it live, in one audited unit of work. Only a designer of a
course bound to the map may upload for that map: the map is always the course's own.
"""

from __future__ import annotations

import io
import stat
import tempfile
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import IO, BinaryIO

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..db import Database
from ..db.base import utcnow
from ..db.models import Context, Course, CourseMapUpload, CourseMapVersion
from ..domain.definitions import CourseMap
from ..domain.map_diff import Change, diff_maps
from ..maps import CourseMapInvalid, LoadedMap, MapError, course_map_from_document, read_course_map
from . import audit
from .course_maps import LoadResult, load_in
from .errors import Conflict, CourseNotConfigured, NotFound, ServiceError
from .map_versions import course_map_for_version

MAX_FILES = 500  # entries in a zip, or YAML files in one upload
MAX_FILE_BYTES = 1024 * 1024  # one YAML file
MAX_TOTAL_BYTES = 16 * 1024 * 1024  # everything unpacked
YAML_SUFFIXES = (".yaml", ".yml")


class UploadRefused(ServiceError):
    """The upload cannot be read as a map folder, or the map in it has errors: ``problems`` lists them."""

    status = 400

    def __init__(self, message: str, problems: Iterable[str] = ()) -> None:
        super().__init__("map_upload_refused", message)
        self.problems = list(problems)


@dataclass(frozen=True)
class UploadedFile:
    filename: str
    stream: BinaryIO


@dataclass(frozen=True)
class UploadReview:
    id: int
    course_key: str
    filename: str
    uploaded_at: datetime
    new_map: CourseMap
    live_map: CourseMap
    live_version_id: int
    live_revision: int
    changes: list[Change]
    warnings: list[str]
    identical_to_live: bool
    same_as_revision: int | None  # an older version with the same content: publishing makes it live again
    published_version_id: int | None


def check_upload(db: Database, context_id: int, actor_user_id: int, files: list[UploadedFile]) -> int:
    """Validate an uploaded map for the course's own map and keep it for review; returns the upload id."""
    with db.read() as session:
        context = session.get(Context, context_id)
        if context is None:
            raise NotFound("unknown_context", "This course is not known to the tool.")
        course_key = context.course_key
        course = session.get(Course, course_key) if course_key else None
        if course_key is None or course is None or course.current_version_id is None:
            raise CourseNotConfigured()
        live_version_id = course.current_version_id
    files = [f for f in files if f.filename]
    if not files:
        raise UploadRefused(
            "Choose the map's zip file, or its YAML files (course.yaml and the credential files)."
        )
    with tempfile.TemporaryDirectory(prefix="map-upload-") as tmp:
        root = Path(tmp) / course_key
        root.mkdir()
        ignored = _unpack(files, root)
        try:
            loaded = read_course_map(root)
        except CourseMapInvalid as exc:
            raise UploadRefused(
                "The uploaded map has errors; nothing was kept. Fix them and upload again.",
                [str(_inside(e, Path(tmp))) for e in exc.errors],
            ) from None
        warnings = [str(_inside(w, Path(tmp))) for w in loaded.warnings]
    warnings += [f"{name}: ignored (not part of a map folder)" for name in ignored]
    filename = ", ".join(PurePosixPath(f.filename.replace("\\", "/")).name for f in files)[:255]
    with db.transaction() as session:
        upload = CourseMapUpload(
            context_id=context_id,
            course_key=course_key,
            uploaded_by=actor_user_id,
            filename=filename,
            document=loaded.document,
            content_hash=loaded.content_hash,
            warnings=warnings,
            base_version_id=live_version_id,
        )
        session.add(upload)
        session.flush()
        audit.record(
            session,
            action="course_map.upload_checked",
            subject_type="course_map_upload",
            subject_id=upload.id,
            actor_user_id=actor_user_id,
            context_id=context_id,
            map_version_id=live_version_id,
            data={"course_map": course_key, "files": filename, "content_hash": loaded.content_hash},
        )
        return upload.id


def _inside(problem: MapError, tmp: Path) -> MapError:
    """Paths as the designer knows them: inside the map folder (``learning-differences/course.yaml``)."""
    prefix = tmp.as_posix().rstrip("/") + "/"
    return replace(problem, file=problem.file.removeprefix(prefix))


def _read_capped(stream: IO[bytes], name: str) -> bytes:
    data = stream.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:
        raise UploadRefused(
            f"{name} is larger than {MAX_FILE_BYTES // 1024} KB; a course map file is never that big."
        )
    return data


def _unpack(files: list[UploadedFile], root: Path) -> list[str]:
    """Write the upload into ``root`` as a map folder; returns the names of files that are not part of one."""
    zips = [f for f in files if f.filename.lower().endswith(".zip")]
    if zips:
        if len(files) > 1:
            raise UploadRefused("Upload either one zip of the map folder, or its YAML files, not both.")
        data = zips[0].stream.read(MAX_TOTAL_BYTES + 1)
        if len(data) > MAX_TOTAL_BYTES:
            raise UploadRefused(f"The zip is larger than {MAX_TOTAL_BYTES // (1024 * 1024)} MB.")
        return _unzip(data, root)
    if len(files) > MAX_FILES:
        raise UploadRefused(f"At most {MAX_FILES} files in one upload.")
    seen: set[str] = set()
    ignored = []
    for upload in files:
        name = PurePosixPath(upload.filename.replace("\\", "/")).name
        if not name.lower().endswith(YAML_SUFFIXES) or name.startswith("."):
            ignored.append(name)
            continue
        if name in seen:
            raise UploadRefused(f"{name} was chosen twice.")
        seen.add(name)
        target = root / name if name == "course.yaml" else root / "credentials" / name
        target.parent.mkdir(exist_ok=True)
        target.write_bytes(_read_capped(upload.stream, name))
    return ignored


def _unzip(data: bytes, root: Path) -> list[str]:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        raise UploadRefused("That file is not a zip archive.") from None
    with archive:
        entries = [e for e in archive.infolist() if not e.is_dir()]
        if len(entries) > MAX_FILES:
            raise UploadRefused(f"The zip holds {len(entries)} files; a map folder has at most {MAX_FILES}.")
        paths: list[tuple[zipfile.ZipInfo, PurePosixPath]] = []
        for entry in entries:
            path = PurePosixPath(entry.filename.replace("\\", "/"))
            if (
                entry.filename.startswith(("/", "\\"))
                or ".." in path.parts
                or any(":" in part for part in path.parts)
            ):
                raise UploadRefused(
                    f"The zip entry {entry.filename!r} points outside the map folder; nothing was kept."
                )
            if stat.S_ISLNK(entry.external_attr >> 16):
                raise UploadRefused(
                    f"The zip entry {entry.filename!r} is a symbolic link; a map holds only files."
                )
            paths.append((entry, path))
        course_files = [p for _, p in paths if p.name == "course.yaml" and not _hidden(p)]
        if len(course_files) != 1:
            found = "no course.yaml" if not course_files else "more than one course.yaml"
            raise UploadRefused(f"The zip has {found}: zip the map folder (course.yaml and credentials/).")
        top = course_files[0].parent
        ignored: list[str] = []
        total = 0
        for entry, path in paths:
            try:
                inner = path.relative_to(top)
            except ValueError:
                inner = None
            wanted = inner is not None and (
                inner == PurePosixPath("course.yaml")
                or (
                    len(inner.parts) == 2
                    and inner.parts[0] == "credentials"
                    and inner.suffix in YAML_SUFFIXES
                )
            )
            if not wanted or _hidden(path):
                if not _hidden(path) and "__MACOSX" not in path.parts:
                    ignored.append(entry.filename)
                continue
            assert inner is not None
            if entry.file_size > MAX_FILE_BYTES:
                raise UploadRefused(f"{entry.filename} is larger than {MAX_FILE_BYTES // 1024} KB.")
            try:
                with archive.open(entry) as stream:
                    content = _read_capped(stream, entry.filename)
            except (
                RuntimeError,
                NotImplementedError,
                zipfile.BadZipFile,
            ) as exc:  # encrypted, unknown method
                raise UploadRefused(f"{entry.filename} cannot be read from the zip: {exc}") from None
            total += len(content)
            if total > MAX_TOTAL_BYTES:
                raise UploadRefused(f"The map unpacks to more than {MAX_TOTAL_BYTES // (1024 * 1024)} MB.")
            target = root.joinpath(*inner.parts)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(content)
        return ignored


def _hidden(path: PurePosixPath) -> bool:
    return any(part.startswith(".") or part == "__MACOSX" for part in path.parts)


def _upload(session: Session, context_id: int, upload_id: int) -> CourseMapUpload:
    upload = session.get(CourseMapUpload, upload_id)
    if upload is None or upload.context_id != context_id:
        raise NotFound("unknown_upload", "No such upload for this course.")
    return upload


def review_upload(db: Database, context_id: int, upload_id: int) -> UploadReview:
    """The upload against the live version of the course's map: what it adds, removes and changes."""
    with db.read() as session:
        upload = _upload(session, context_id, upload_id)
        course = session.get(Course, upload.course_key)
        if course is None or course.current_version_id is None:
            raise CourseNotConfigured()
        live = session.get(CourseMapVersion, course.current_version_id)
        assert live is not None
        live_map = course_map_for_version(session, live.id)
        same = session.scalar(
            select(CourseMapVersion.revision).where(
                CourseMapVersion.course_key == upload.course_key,
                CourseMapVersion.content_hash == upload.content_hash,
            )
        )
        new_map = course_map_from_document(upload.document)
        return UploadReview(
            id=upload.id,
            course_key=upload.course_key,
            filename=upload.filename,
            uploaded_at=upload.created_at,
            new_map=new_map,
            live_map=live_map,
            live_version_id=live.id,
            live_revision=live.revision,
            changes=diff_maps(live_map, new_map),
            warnings=[str(w) for w in upload.warnings or []],
            identical_to_live=upload.content_hash == live.content_hash,
            same_as_revision=same if same is not None and upload.content_hash != live.content_hash else None,
            published_version_id=upload.published_version_id,
        )


def publish_upload(
    db: Database, context_id: int, upload_id: int, actor_user_id: int, reviewed_against: int
) -> LoadResult:
    """Publish a reviewed upload as the live version. ``reviewed_against`` is the live version the designer
    saw the difference against: if another version went live since, nothing is published."""
    with db.transaction() as session:
        upload = _upload(session, context_id, upload_id)
        if upload.published_version_id is not None:
            raise Conflict("already_published", "This upload is already published.")
        context = session.get(Context, context_id)
        if context is None or context.course_key != upload.course_key:
            raise Conflict(
                "course_map_changed",
                "This course no longer follows the map this upload is for; nothing was published.",
            )
        course = session.get(Course, upload.course_key)
        if course is None or course.current_version_id != reviewed_against:
            raise Conflict(
                "live_version_changed",
                "Another version of the map went live since you looked at the differences; "
                "look again before publishing.",
            )
        if course.current_version_id is not None:
            live = session.get(CourseMapVersion, course.current_version_id)
            if live is not None and live.content_hash == upload.content_hash:
                raise Conflict(
                    "unchanged", "The upload is the same as the live version: there is nothing to publish."
                )
        loaded = LoadedMap(
            course_map=course_map_from_document(upload.document),
            document=upload.document,
            content_hash=upload.content_hash,
            source_path=f"upload {upload.id} ({upload.filename})"[:1024],
        )
        result = load_in(session, loaded)
        upload.published_version_id = result.version_id
        upload.published_at = utcnow()
        audit.record(
            session,
            action="course_map.published",
            subject_type="course_map_version",
            subject_id=result.version_id,
            actor_user_id=actor_user_id,
            context_id=context_id,
            map_version_id=result.version_id,
            data={
                "course_map": upload.course_key,
                "revision": result.revision,
                "new_version": result.created,
                "previous_version": reviewed_against,
                "upload": upload.id,
            },
        )
        return result

"""Reading a course map directory: parse, validate (schema, then cross-file rules), normalize."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path as FsPath
from typing import Any

from ..domain.definitions import CourseMap
from .checks import check_course, check_credential, check_stack_reviews
from .document import content_hash, course_map_from_document, normalize
from .errors import CourseMapInvalid, MapError
from .schema import schema_errors
from .source import SourceFile, display_name, read_yaml


@dataclass(frozen=True)
class LoadedMap:
    course_map: CourseMap
    document: dict[str, Any]
    content_hash: str
    source_path: str
    warnings: tuple[MapError, ...] = ()


def validate_course_map(path: str | FsPath) -> list[MapError]:
    """Every error and warning in the map at ``path`` (a directory holding course.yaml); [] if clean."""
    _, problems = _read(FsPath(path))
    return problems


def read_course_map(path: str | FsPath) -> LoadedMap:
    """The map as a domain value and a normalized document; raises ``CourseMapInvalid`` on any error."""
    root = FsPath(path)
    document, problems = _read(root)
    if document is None or any(p.is_error for p in problems):
        raise CourseMapInvalid([p for p in problems if p.is_error])
    return LoadedMap(
        course_map=course_map_from_document(document),
        document=document,
        content_hash=content_hash(document),
        source_path=display_name(root),
        warnings=tuple(problems),
    )


def _read(root: FsPath) -> tuple[dict[str, Any] | None, list[MapError]]:
    course_file = root / "course.yaml"
    if not root.is_dir():
        return None, [MapError(display_name(root), 0, 0, "", "not a directory (a course map is a directory)")]
    if not course_file.is_file():
        return None, [
            MapError(display_name(course_file), 0, 0, "", "missing course.yaml: every map needs one")
        ]
    problems: list[MapError] = []
    course, found = read_yaml(course_file)
    problems += found
    course_ok = course is not None and not (found := schema_errors(course, "course"))
    problems += found if course is not None else []

    credentials, files, credentials_ok = _read_credentials(root / "credentials", problems)
    if course is None or not course_ok:
        return None, _ordered(problems)
    problems += check_course(course, root.resolve().name, files)
    problems += _unused_credentials(course, credentials)
    problems += check_stack_reviews(course, credentials)
    if not credentials_ok or any(p.is_error for p in problems):
        return None, _ordered(problems)
    data = {cid: src.data for cid, src in credentials.items()}
    return normalize(course.data, data), _ordered(problems)


def _read_credentials(
    directory: FsPath, problems: list[MapError]
) -> tuple[dict[str, SourceFile], dict[str, str], bool]:
    """(valid credential sources by id, every credential file's id -> display name, all valid?)."""
    sources: dict[str, SourceFile] = {}
    files: dict[str, str] = {}
    ok = True
    found_files = sorted(directory.glob("*")) if directory.is_dir() else []
    stems = [f.stem for f in found_files if f.suffix == ".yaml" and f.is_file()]
    for file in found_files:
        if file.suffix == ".yml":
            problems.append(
                MapError(display_name(file), 0, 0, "", "ignored: credential files end in .yaml", "warning")
            )
        if file.suffix != ".yaml" or not file.is_file():
            continue
        files[file.stem] = display_name(file)
        source, found = read_yaml(file)
        problems += found
        if source is None:
            ok = False
            continue
        found = schema_errors(source, "credential")
        found += [] if found else check_credential(source, file.stem, stems)
        problems += found
        if any(p.is_error for p in found):
            ok = False
        else:
            sources[file.stem] = source
    return sources, files, ok


def _unused_credentials(course: SourceFile, credentials: dict[str, SourceFile]) -> list[MapError]:
    used = {cid for stack in course.data["stacks"] for cid in stack["credentials"]}
    return [
        source.error(("id",), f"credential '{cid}' is not in any stack; it will not be loaded", "warning")
        for cid, source in credentials.items()
        if cid not in used
    ]


def _ordered(problems: list[MapError]) -> list[MapError]:
    return sorted(set(problems), key=lambda p: (p.file.count("/"), p.file, p.line, p.column, p.message))

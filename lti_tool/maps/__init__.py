"""Course maps: the YAML files course designers write (``course_maps/<course>/``), checked against the
published JSON Schema and cross-file rules, with errors that name file, line and field, and turned into
the domain ``CourseMap`` and a normalized, hashable document for versioned storage."""

from .document import content_hash, course_map_from_document
from .errors import CourseMapInvalid, MapError
from .reader import LoadedMap, read_course_map, validate_course_map

__all__ = [
    "CourseMapInvalid",
    "LoadedMap",
    "MapError",
    "content_hash",
    "course_map_from_document",
    "read_course_map",
    "validate_course_map",
]

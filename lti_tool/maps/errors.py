"""What is wrong with a course map, said so a course designer can find and fix it."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

Path = tuple[str | int, ...]


def format_path(path: Path) -> str:
    """``("rubric", "criteria", 0, "passing_level")`` -> ``rubric.criteria[0].passing_level``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else part
    return out


@dataclass(frozen=True, order=True)
class MapError:
    """One problem in one file. ``line`` and ``column`` are 1-based; 0 means "the whole file"."""

    file: str
    line: int
    column: int
    path: str
    message: str
    severity: str = "error"  # or "warning": reported, but the map still loads

    @property
    def is_error(self) -> bool:
        return self.severity == "error"

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}:{self.column}:" if self.line else f"{self.file}:"
        what = f" {self.path}:" if self.path else ""
        level = " warning:" if not self.is_error else ""
        return f"{where}{level}{what} {self.message}"


class CourseMapInvalid(Exception):
    """Raised by ``read_course_map`` when a map has errors; ``errors`` lists every one."""

    def __init__(self, errors: Iterable[MapError]) -> None:
        self.errors: Sequence[MapError] = tuple(errors)
        super().__init__("\n".join(str(e) for e in self.errors) or "invalid course map")

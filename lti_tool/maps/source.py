"""YAML files read with their positions, so that every error can name file, line and column."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path as FsPath
from typing import Any

import yaml

from .errors import MapError, Path, format_path

_STR_TAG = "tag:yaml.org,2002:str"


@dataclass
class SourceFile:
    """A parsed YAML file: its data and where each JSON path starts (line, column; 1-based)."""

    display: str
    data: Any
    positions: dict[Path, tuple[int, int]] = field(default_factory=dict)

    def where(self, path: Path) -> tuple[int, int]:
        """The position of ``path``, or of its nearest ancestor that exists in the file."""
        while path not in self.positions and path:
            path = path[:-1]
        return self.positions.get(path, (1, 1))

    def error(self, path: Path, message: str, severity: str = "error") -> MapError:
        line, column = self.where(path)
        return MapError(self.display, line, column, format_path(path), message, severity)


def display_name(path: FsPath) -> str:
    """Paths are shown as the user wrote them (relative stays relative), with forward slashes."""
    return path.as_posix()


def read_yaml(path: FsPath) -> tuple[SourceFile | None, list[MapError]]:
    """Parse one file. Returns (None, errors) when it cannot be read as a YAML mapping."""
    display = display_name(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None, [MapError(display, 0, 0, "", "file not found")]
    except (OSError, UnicodeDecodeError) as exc:
        return None, [MapError(display, 0, 0, "", f"cannot read file: {exc}")]
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        problem = " ".join(p for p in (exc.context, exc.problem) if p)
        return None, [MapError(display, line, column, "", f"YAML syntax error: {problem}")]
    except yaml.YAMLError as exc:
        return None, [MapError(display, 1, 1, "", f"YAML error: {exc}")]
    if node is None or not isinstance(node, yaml.MappingNode) or not isinstance(data, dict):
        line = node.start_mark.line + 1 if node is not None else 1
        return None, [MapError(display, line, 1, "", "expected a mapping of fields (key: value) at the top")]
    source = SourceFile(display, data)
    errors: list[MapError] = []
    _walk(node, (), source, errors)
    return (None if any(e.is_error for e in errors) else source), errors


def _walk(node: yaml.Node, path: Path, source: SourceFile, errors: list[MapError]) -> None:
    source.positions.setdefault(path, (node.start_mark.line + 1, node.start_mark.column + 1))
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            key_pos = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
            if not isinstance(key_node, yaml.ScalarNode) or key_node.tag != _STR_TAG:
                errors.append(_at(source, key_pos, path, "field names must be plain text"))
                continue
            key = key_node.value
            if key in seen:
                errors.append(
                    _at(source, key_pos, (*path, key), f"'{key}' appears twice in the same mapping")
                )
                continue
            seen.add(key)
            # A field is reported where its name is written, which is where a designer looks.
            source.positions[(*path, key)] = key_pos
            _walk(value_node, (*path, key), source, errors)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _walk(item, (*path, index), source, errors)


def _at(source: SourceFile, pos: tuple[int, int], path: Path, message: str) -> MapError:
    return MapError(source.display, pos[0], pos[1], format_path(path), message)

"""The published JSON Schemas (course_maps/schema/), applied with messages a course designer can act on."""

from __future__ import annotations

import datetime as dt
import json
import re
from functools import cache
from pathlib import Path as FsPath
from typing import Any

from jsonschema import Draft202012Validator, ValidationError

from .errors import MapError, Path
from .source import SourceFile

# The schemas are data that course designers read, so they live beside the maps, not inside the package.
SCHEMA_DIR = FsPath(__file__).resolve().parents[2] / "course_maps" / "schema"
SLUG_HINT = "ids are lower-case letters, digits and single hyphens (e.g. 'ef-foundations-of-practice')"


@cache
def validator(kind: str) -> Draft202012Validator:
    """``kind`` is ``course`` or ``credential``."""
    schema = json.loads((SCHEMA_DIR / f"{kind}.schema.json").read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def schema_errors(source: SourceFile, kind: str) -> list[MapError]:
    errors: list[MapError] = []
    for error in validator(kind).iter_errors(source.data):
        errors.extend(_translate(source, error))
    return sorted(set(errors))


def _translate(source: SourceFile, error: ValidationError) -> list[MapError]:
    path: Path = tuple(error.absolute_path)
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        allowed = sorted(error.schema.get("properties", {}))
        extra = [k for k in error.instance if k not in allowed]
        return [
            source.error((*path, key), f"unknown field '{key}' (allowed here: {', '.join(allowed)})")
            for key in extra
        ]
    return [source.error(path, _message(error))]


def _message(error: ValidationError) -> str:
    instance = error.instance
    if error.validator == "pattern" and error.schema.get("pattern", "").startswith("^[a-z0-9]"):
        return f"{instance!r} is not a valid id: {SLUG_HINT}"
    if error.validator == "type" and error.validator_value == "string" and _yaml_scalar(instance):
        return f'{instance!r} is not text; put it in quotes ("{instance}")'
    if error.validator == "uniqueItems":
        return f"lists {_first_duplicate(instance)!r} more than once"
    if error.validator == "const" and error.validator_value == "all":
        return f'{instance!r} is not allowed: write "all" or a list of stack ids'
    if error.validator == "required":
        return re.sub(r"^'(\w+)' is a required property$", r"missing required field '\1'", error.message)
    return str(error.message)


def _yaml_scalar(value: Any) -> bool:
    # YAML turns 1.0, 2024-05-01 and yes into numbers, dates and booleans; designers meant text.
    return isinstance(value, int | float | bool | dt.date)


def _first_duplicate(items: Any) -> Any:
    seen: list[Any] = []
    for item in items if isinstance(items, list) else []:
        if item in seen:
            return item
        seen.append(item)
    return None

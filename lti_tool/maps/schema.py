"""The published JSON Schemas (course_maps/schema/), applied with messages a course designer can act on."""

from __future__ import annotations

import datetime as dt
import difflib
import json
import re
from collections.abc import Mapping
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
    return errors_against(validator(kind), source)


def errors_against(
    schema: Draft202012Validator, source: SourceFile, nouns: Mapping[str, str] | None = None
) -> list[MapError]:
    """``source`` checked against any published schema (licensure offices use this too); ``nouns`` names
    one item of a list field, for "add at least one ..." messages, where the course-map nouns do not fit."""
    errors: list[MapError] = []
    typed: set[Path] = set()
    for error in schema.iter_errors(source.data):
        path: Path = tuple(error.absolute_path)
        # A value of the wrong type gets one error, not one more for each rule it then fails.
        if path in typed:
            continue
        if error.validator == "type":
            typed.add(path)
        errors.extend(_translate(source, error, {**_ITEM_NOUNS, **(nouns or {})}))
    return sorted(set(errors))


def _translate(source: SourceFile, error: ValidationError, nouns: Mapping[str, str]) -> list[MapError]:
    path: Path = tuple(error.absolute_path)
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        allowed = sorted(error.schema.get("properties", {}))
        extra = [k for k in error.instance if k not in allowed]
        return [
            source.error(
                (*path, key),
                f"unknown field '{key}'{_suggest(key, allowed)} (allowed here: {', '.join(allowed)})",
            )
            for key in extra
        ]
    if error.validator == "uniqueItems" and isinstance(error.instance, list):
        first, again = _first_repeat(error.instance)
        lines = f"line {source.where((*path, first))[0]} and line {source.where((*path, again))[0]}"
        return [
            source.error(
                (*path, again), f"{error.instance[again]!r} is listed twice in {_field(path)} ({lines})"
            )
        ]
    return [source.error(path, _message(error, path, nouns))]


# What one item of each list is called, for "add at least one ..." messages.
_ITEM_NOUNS = {
    "units": "unit",
    "stacks": "stack",
    "credentials": "credential id",
    "required": "credential id",
    "electives": "credential id",
    "method_components": "method component",
    "overview_questions": "overview question",
    "artifacts": "artifact",
    "reflection_prompts": "reflection prompt",
    "levels": "rubric level",
    "criteria": "rubric criterion",
    "accepts": "way to hand it in (file, link or video_link)",
}
_TYPE_NAMES = {
    "string": "text",
    "integer": "a whole number",
    "number": "a number",
    "array": "a list",
    "object": "a mapping of fields (name: value)",
    "boolean": "true or false",
}


def _field(path: Path) -> str:
    names = [part for part in path if isinstance(part, str)]
    return f"'{names[-1]}'" if names else "the file"


def _message(error: ValidationError, path: Path, nouns: Mapping[str, str]) -> str:
    """The jsonschema error said as a plain sentence; its own wording never reaches a designer."""
    instance, value = error.instance, error.validator_value
    names = [part for part in path if isinstance(part, str)]
    noun = nouns.get(names[-1], "item") if names else "item"
    if error.validator == "pattern" and str(value).startswith("^[a-z0-9]"):
        return f"{instance!r} is not a valid id: {SLUG_HINT}"
    if error.validator == "type":
        expected = [value] if isinstance(value, str) else list(value)
        if expected == ["string", "array"]:  # award.stacks
            return f'must be "all" or a list of stack ids, not {_describe(instance)}'
        if "string" in expected and _yaml_scalar(instance):
            return f'{instance!r} is not text; put it in quotes ("{instance}")'
        return f"must be {' or '.join(_TYPE_NAMES.get(t, t) for t in expected)}, not {_describe(instance)}"
    if error.validator == "const" and value == "all":
        return f'{instance!r} is not allowed: write "all" or a list of stack ids'
    if error.validator == "required":
        field = re.sub(r"^'(\w+)' is a required property$", r"\1", error.message)
        return f"missing required field '{field}'"
    if error.validator == "minItems":
        if not instance:
            return f"the list is empty: add at least one {noun}"
        return f"needs at least {value} {noun}s (this has {len(instance)})"
    if error.validator == "maxItems":
        return f"has {len(instance)} {noun}s; at most {value} are allowed"
    if error.validator == "minLength":
        return "is empty: write some text" if instance == "" else f"is too short: at least {value} characters"
    if error.validator == "maxLength":
        return f"is too long: at most {value} characters (this has {len(instance)})"
    if error.validator == "enum":
        choices = [str(v) for v in value]
        return f"{instance!r} is not one of {', '.join(choices)}{_suggest(str(instance), choices)}"
    if error.validator == "minimum":
        return f"must be at least {value} (not {instance})"
    if error.validator == "maximum":
        return f"must be at most {value} (not {instance})"
    if error.validator == "const":
        return f"must be {value!r}, not {instance!r}"
    description = error.schema.get("description") if isinstance(error.schema, dict) else None
    return f"is not valid here{': ' + description if description else ''}"


def _describe(value: Any) -> str:
    if value is None:
        return "empty"
    if isinstance(value, bool):
        return f"{str(value).lower()} (true/false)"
    if isinstance(value, int | float):
        return f"the number {value}"
    if isinstance(value, str):
        return f"the text {value!r}"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping of fields"
    return type(value).__name__


def _suggest(word: str, choices: list[str]) -> str:
    close = difflib.get_close_matches(word, choices, n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""


def _yaml_scalar(value: Any) -> bool:
    # YAML turns 1.0, 2024-05-01 and yes into numbers, dates and booleans; designers meant text.
    return isinstance(value, int | float | bool | dt.date)


def _first_repeat(items: list[Any]) -> tuple[int, int]:
    """Indexes of the first item that appears again, and of its second appearance."""
    for later, item in enumerate(items):
        for earlier in range(later):
            if items[earlier] == item:
                return earlier, later
    return 0, 0

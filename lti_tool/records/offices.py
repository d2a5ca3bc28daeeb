"""Reading the licensure office profiles (licensure_offices/<key>.yaml) that operators edit.

Validated like the course maps, with the maps' own machinery: YAML read with positions, the published JSON
Schema (licensure_offices/schema/office.schema.json), then the rules a schema cannot say. Every problem
names file, line, column and field; one bad file stops the whole set from loading, so the tool never runs
with an office silently missing.
"""

from __future__ import annotations

import json
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

from ..domain.licensure import (
    CeBrokerIds,
    ConversionRule,
    FileLayout,
    OfficeProfile,
    PushEndpoint,
    RuleKind,
    rule_problems,
)
from ..maps.errors import CourseMapInvalid, MapError
from ..maps.schema import errors_against
from ..maps.source import SourceFile, display_name, read_yaml
from ..url_policy import UnsafeUrl, check_platform_url

# Data that operators read and edit, so it lives beside the package (like course_maps/), not inside it.
SCHEMA_FILE = Path(__file__).resolve().parents[2] / "licensure_offices" / "schema" / "office.schema.json"
DEFAULT_MAX_ATTEMPTS = 8
# The shipped nc-dpi.yaml cannot know an operator's CE Broker numbers; it says so with these placeholders.
PLACEHOLDER_PREFIX = "REPLACE"
_NOUNS = {"grants": "grant kind (stack or course_award)", "courses": "course key", "files": "file layout"}


class OfficesInvalid(CourseMapInvalid):
    """Raised by ``load_offices`` when any office file has errors; ``errors`` lists every one."""


@cache
def _validator() -> Draft202012Validator:
    schema = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def validate_offices(directory: Path, *, development: bool = False) -> list[MapError]:
    """Every error and warning in the office files of ``directory``; [] if all are clean."""
    return _read(directory, development)[1]


def load_offices(directory: Path, *, development: bool = False) -> dict[str, OfficeProfile]:
    """The offices by key; raises ``OfficesInvalid`` listing every error when any file has one.

    Outside ``development`` a push URL must be https:// with a public host name."""
    offices, problems = _read(directory, development)
    errors = [p for p in problems if p.is_error]
    if errors:
        raise OfficesInvalid(errors)
    return offices


def _read(directory: Path, development: bool) -> tuple[dict[str, OfficeProfile], list[MapError]]:
    if not directory.is_dir():
        return {}, [MapError(display_name(directory), 0, 0, "", "not a directory of licensure office files")]
    problems: list[MapError] = []
    offices: dict[str, OfficeProfile] = {}
    first_file: dict[str, str] = {}
    for file in sorted(directory.iterdir()):
        if file.suffix == ".yml":
            problems.append(
                MapError(display_name(file), 0, 0, "", "ignored: office files end in .yaml", "warning")
            )
        if file.suffix != ".yaml" or not file.is_file():
            continue
        source, found = read_yaml(file)
        problems += found
        if source is None:
            continue
        found = errors_against(_validator(), source, _NOUNS)
        if not found:
            found = _check(source, file.stem, development)
            key = source.data["key"]
            if key in first_file:
                where = f"{first_file[key]} and {source.display}"
                found.append(source.error(("key",), f"office key '{key}' is used twice ({where})"))
            first_file.setdefault(key, source.display)
        problems += found
        if not any(p.is_error for p in found):
            offices[source.data["key"]] = _profile(source.data)
    return offices, sorted(set(problems))


def _check(source: SourceFile, stem: str, development: bool) -> list[MapError]:
    """The rules the schema cannot say, on data whose shapes the schema has accepted."""
    data: dict[str, Any] = source.data
    errors: list[MapError] = []
    if data["key"] != stem:
        errors.append(source.error(("key",), f"office key '{data['key']}' must match its file name '{stem}'"))
    rule = data["rule"]
    for field, problem in rule_problems(*_rule_values(rule)):
        errors.append(source.error(("rule", field) if field else ("rule",), problem))

    receives: dict[str, Any] = data["receives"]
    push = receives.get("push")
    if push is not None:
        try:
            check_platform_url(push["url"], "the push URL", development=development)
        except UnsafeUrl as exc:
            errors.append(source.error(("receives", "push", "url"), str(exc)))
    files: list[str] = receives.get("files", [])
    ce_broker = data.get("ce_broker")
    if FileLayout.CE_BROKER in files and ce_broker is None:
        errors.append(
            source.error(
                ("receives", "files", files.index(FileLayout.CE_BROKER)),
                "the ce_broker layout needs a ce_broker block (provider_number, course_number, profession)",
            )
        )
    if ce_broker is not None:
        if FileLayout.CE_BROKER not in files:
            errors.append(
                source.error(("ce_broker",), "not used: add ce_broker to receives.files", "warning")
            )
        for field in ("provider_number", "course_number"):
            if str(ce_broker[field]).startswith(PLACEHOLDER_PREFIX):
                message = "is a placeholder: write the number CE Broker assigned before exporting rosters"
                errors.append(source.error(("ce_broker", field), message, "warning"))
    return errors


def _rule_values(rule: dict[str, Any]) -> tuple[RuleKind, Decimal | None, int | None, Decimal | None, int]:
    kind = RuleKind(rule["kind"])
    default_decimals = 0 if kind is RuleKind.CREDENTIALS_PER_UNIT else 1
    return (
        kind,
        _decimal(rule.get("hours_per_unit")),
        rule.get("credentials_per_unit"),
        _decimal(rule.get("cap_units")),
        rule.get("decimals", default_decimals),
    )


def _decimal(value: float | int | None) -> Decimal | None:
    # Through str: YAML's 0.1 is the float 0.1, and the office meant the decimal 0.1.
    return None if value is None else Decimal(str(value))


def _profile(data: dict[str, Any]) -> OfficeProfile:
    receives: dict[str, Any] = data["receives"]
    push = receives.get("push")
    ce_broker = data.get("ce_broker")
    accepts: dict[str, Any] = data["accepts"]
    return OfficeProfile(
        key=data["key"],
        name=data["name"],
        state=data["state"],
        jurisdiction=data["jurisdiction"],
        unit_singular=data["unit"]["singular"],
        unit_plural=data["unit"]["plural"],
        rule=ConversionRule(*_rule_values(data["rule"])),
        accepts=frozenset(accepts["grants"]),
        accepts_courses=frozenset(accepts.get("courses", ())),
        push=None
        if push is None
        else PushEndpoint(push["url"], push["secret_env"], push.get("max_attempts", DEFAULT_MAX_ATTEMPTS)),
        pull=bool(receives.get("pull", False)),
        file_layouts=tuple(FileLayout(f) for f in receives.get("files", ())),
        ce_broker=None
        if ce_broker is None
        else CeBrokerIds(
            str(ce_broker["provider_number"]), str(ce_broker["course_number"]), ce_broker["profession"]
        ),
        notes=" ".join(data["notes"].split()),
    )

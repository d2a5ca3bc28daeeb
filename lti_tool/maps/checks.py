"""Rules the JSON Schema cannot say: references between files, uniqueness, rubric consistency.

Each check runs on data the schema has already accepted, so shapes and types can be trusted here.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .errors import MapError, Path
from .source import SourceFile


def _duplicates(
    source: SourceFile, items: Iterable[tuple[Path, str]], what: str, seen: dict[str, str] | None = None
) -> list[MapError]:
    """One error per id that is used again; ``seen`` maps an id to what first used it."""
    errors = []
    seen = {} if seen is None else seen
    for path, value in items:
        if value in seen:
            errors.append(source.error(path, f"duplicate id '{value}': already used by {seen[value]}"))
        else:
            seen[value] = what
    return errors


def check_course(source: SourceFile, directory_name: str, credential_files: dict[str, str]) -> list[MapError]:
    """``credential_files`` maps each credential id found in credentials/ to its file's display name."""
    course = source.data
    errors: list[MapError] = []
    if course["id"] != directory_name:
        errors.append(
            source.error(
                ("id",), f"course id '{course['id']}' must match its directory name '{directory_name}'"
            )
        )
    units: list[dict[str, Any]] = course["units"]
    stacks: list[dict[str, Any]] = course["stacks"]
    award: dict[str, Any] | None = course.get("award")

    errors += _duplicates(source, ((("units", i, "id"), u["id"]) for i, u in enumerate(units)), "a unit")
    # Stacks, credentials and the award are all things a learner earns: one namespace of ids.
    earnable = {cid: f"credential file {name}" for cid, name in credential_files.items()}
    for i, stack in enumerate(stacks):
        errors += _duplicates(source, [(("stacks", i, "id"), stack["id"])], f"stack #{i + 1}", earnable)
    if award is not None:
        errors += _duplicates(source, [(("award", "id"), award["id"])], "the award", earnable)

    stack_ids = [s["id"] for s in stacks]
    embedded = set()
    for i, unit in enumerate(units):
        embedded.add(unit["stack"])
        if unit["stack"] not in stack_ids:
            errors.append(
                source.error(
                    ("units", i, "stack"),
                    f"unit '{unit['id']}' embeds stack '{unit['stack']}', which is not defined "
                    f"(stacks: {', '.join(stack_ids)})",
                )
            )
    for i, stack in enumerate(stacks):
        errors += _check_stack(source, i, stack, credential_files)
        if stack["id"] not in embedded:
            errors.append(
                source.error(
                    ("stacks", i, "id"), f"stack '{stack['id']}' is not embedded in any unit", "warning"
                )
            )
    if award is not None and isinstance(award["stacks"], list):
        for j, stack_id in enumerate(award["stacks"]):
            if stack_id not in stack_ids:
                errors.append(
                    source.error(
                        ("award", "stacks", j),
                        f"award needs stack '{stack_id}', which is not defined "
                        f"(stacks: {', '.join(stack_ids)})",
                    )
                )
    return errors


def _check_stack(
    source: SourceFile, i: int, stack: dict[str, Any], credential_files: dict[str, str]
) -> list[MapError]:
    errors = []
    here: Path = ("stacks", i)
    listed: list[str] = stack["credentials"]
    for j, cid in enumerate(listed):
        if cid not in credential_files:
            errors.append(
                source.error(
                    (*here, "credentials", j),
                    f"stack '{stack['id']}' lists credential '{cid}', but there is no credentials/{cid}.yaml",
                )
            )
    completion = stack["completion"]
    at: Path = (*here, "completion")
    if completion["rule"] == "all":
        for key in ("required", "electives", "choose"):
            if key in completion:
                errors.append(
                    source.error((*at, key), f"'{key}' is only used with rule all_plus_choose; remove it")
                )
        return errors
    required: list[str] = completion["required"]
    for j, cid in enumerate(required):
        if cid not in listed:
            errors.append(source.error((*at, "required", j), f"'{cid}' is not among the stack's credentials"))
    if "electives" in completion:
        electives: list[str] = completion["electives"]
        for j, cid in enumerate(electives):
            if cid not in listed:
                errors.append(
                    source.error((*at, "electives", j), f"'{cid}' is not among the stack's credentials")
                )
            elif cid in required:
                errors.append(source.error((*at, "electives", j), f"'{cid}' is both required and elective"))
        left_out = [c for c in listed if c not in required and c not in electives]
        if left_out:
            errors.append(
                source.error(
                    (*at, "electives"),
                    f"credentials neither required nor elective: {', '.join(left_out)} "
                    "(omit 'electives' to make every non-required credential an elective)",
                )
            )
    else:
        electives = [c for c in listed if c not in required]
    if completion["choose"] > len(electives):
        errors.append(
            source.error(
                (*at, "choose"),
                f"choose {completion['choose']} is more than the {len(electives)} electives available",
            )
        )
    return errors


def check_credential(source: SourceFile, file_stem: str) -> list[MapError]:
    cred = source.data
    errors: list[MapError] = []
    if cred["id"] != file_stem:
        errors.append(
            source.error(("id",), f"credential id '{cred['id']}' must match its file name '{file_stem}.yaml'")
        )
    requirements = cred["requirements"]
    for key in ("overview_questions", "artifacts", "reflection_prompts"):
        items = requirements.get(key, [])
        errors += _duplicates(
            source, ((("requirements", key, j, "id"), it["id"]) for j, it in enumerate(items)), f"{key}"
        )
    for j, artifact in enumerate(requirements["artifacts"]):
        low, high = artifact.get("min_count", 1), artifact.get("max_count")
        if high is not None and high < low:
            errors.append(
                source.error(
                    ("requirements", "artifacts", j, "max_count"),
                    f"max_count {high} is less than min_count {low}",
                )
            )
    rubric = cred["rubric"]
    levels: list[dict[str, Any]] = rubric["levels"]
    errors += _duplicates(
        source, ((("rubric", "levels", j, "id"), lv["id"]) for j, lv in enumerate(levels)), "a level"
    )
    ranks: dict[int, str] = {}
    for j, level in enumerate(levels):
        if level["rank"] in ranks:
            errors.append(
                source.error(
                    ("rubric", "levels", j, "rank"),
                    f"rank {level['rank']} is also the rank of level '{ranks[level['rank']]}'; "
                    "ranks order the levels and must differ",
                )
            )
        else:
            ranks[level["rank"]] = level["id"]
    criteria: list[dict[str, Any]] = rubric["criteria"]
    errors += _duplicates(
        source, ((("rubric", "criteria", j, "id"), c["id"]) for j, c in enumerate(criteria)), "a criterion"
    )
    level_ids = [lv["id"] for lv in levels]
    for j, criterion in enumerate(criteria):
        if criterion["passing_level"] not in level_ids:
            errors.append(
                source.error(
                    ("rubric", "criteria", j, "passing_level"),
                    f"'{criterion['passing_level']}' is not one of the rubric levels "
                    f"({', '.join(level_ids)})",
                )
            )
    return errors

"""Rules the JSON Schema cannot say: references between files, uniqueness, rubric consistency.

Each check runs on data the schema has already accepted, so shapes and types can be trusted here.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .document import normalize_review
from .errors import MapError, Path
from .source import SourceFile


def _line(source: SourceFile, path: Path) -> str:
    return f"line {source.where(path)[0]}"


def _duplicates(source: SourceFile, items: Iterable[tuple[Path, str]], noun: str) -> list[MapError]:
    """One error per id used again, at the line of the repeat, naming the line of the first use."""
    errors = []
    seen: dict[str, str] = {}
    for path, value in items:
        if value in seen:
            where = f"{seen[value]} and {_line(source, path)}"
            errors.append(source.error(path, f"{noun} '{value}' is used twice ({where})"))
        else:
            seen[value] = _line(source, path)
    return errors


def _and(parts: list[str]) -> str:
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


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

    errors += _duplicates(source, ((("units", i, "id"), u["id"]) for i, u in enumerate(units)), "unit id")
    errors += _duplicates(source, ((("stacks", i, "id"), s["id"]) for i, s in enumerate(stacks)), "stack id")
    # Stacks, credentials and the award are all things a learner earns: one namespace of ids.
    shared = "; stacks, micro-credentials and the award share one set of ids"
    first_use = {cid: f"credentials/{cid}.yaml" for cid in credential_files}
    for i, stack in enumerate(stacks):
        here = f"the stack at {_line(source, ('stacks', i, 'id'))}"
        if stack["id"] in credential_files:
            where = f"{first_use[stack['id']]} and {here}"
            errors.append(
                source.error(("stacks", i, "id"), f"id '{stack['id']}' is used twice ({where}){shared}")
            )
        first_use.setdefault(stack["id"], here)
    if award is not None and award["id"] in first_use:
        where = f"{first_use[award['id']]} and the award at {_line(source, ('award', 'id'))}"
        errors.append(source.error(("award", "id"), f"id '{award['id']}' is used twice ({where}){shared}"))

    errors += _stack_references(source, units, stacks, award)
    errors += _credential_references(source, stacks, credential_files)
    for i, stack in enumerate(stacks):
        errors += _check_stack(source, i, stack)
        if "review" in stack:
            errors += check_review(source, ("stacks", i, "review"), stack["review"])
    return errors


def _stack_references(
    source: SourceFile,
    units: list[dict[str, Any]],
    stacks: list[dict[str, Any]],
    award: dict[str, Any] | None,
) -> list[MapError]:
    """Each stack id that units or the award use but no stack has: one error, at its first use, naming every
    use (a renamed stack is one mistake, however often it is referred to); and stacks no unit embeds."""
    stack_ids = [s["id"] for s in stacks]
    uses: dict[str, list[tuple[Path, str]]] = {}
    for i, unit in enumerate(units):
        uses.setdefault(unit["stack"], []).append((("units", i, "stack"), f"unit '{unit['id']}'"))
    if award is not None and isinstance(award["stacks"], list):
        for j, stack_id in enumerate(award["stacks"]):
            uses.setdefault(stack_id, []).append((("award", "stacks", j), "the award"))
    unknown = [sid for sid in uses if sid not in stack_ids]
    unused = [sid for sid in stack_ids if sid not in uses]
    errors: list[MapError] = []
    for stack_id in unknown:
        refs = uses[stack_id]
        users = _and([f"{who} ({_line(source, path)})" for path, who in refs])
        message = f"stack '{stack_id}' is not defined, but {users} {'uses' if len(refs) == 1 else 'use'} it"
        if len(unknown) == 1 and len(unused) == 1:
            message += (
                f"; stack '{unused[0]}' is defined and nothing uses it: if you renamed '{stack_id}' to "
                f"'{unused[0]}', rename it back (ids must not change once learners use the map) or update "
                "these references"
            )
        else:
            message += f" (stacks: {', '.join(dict.fromkeys(stack_ids))})"
        errors.append(source.error(refs[0][0], message))
    embedded = {unit["stack"] for unit in units}
    for i, stack in enumerate(stacks):
        # A stack that only looks unembedded because it was renamed is part of the error above.
        if stack["id"] not in embedded and not (len(unknown) == 1 and unused == [stack["id"]]):
            errors.append(
                source.error(
                    ("stacks", i, "id"), f"stack '{stack['id']}' is not embedded in any unit", "warning"
                )
            )
    return errors


def _credential_references(
    source: SourceFile, stacks: list[dict[str, Any]], credential_files: dict[str, str]
) -> list[MapError]:
    """Each credential id that stacks list but that has no file: one error, at its first use."""
    uses: dict[str, list[tuple[Path, str]]] = {}
    for i, stack in enumerate(stacks):
        for j, cid in enumerate(stack["credentials"]):
            if cid not in credential_files:
                uses.setdefault(cid, []).append((("stacks", i, "credentials", j), f"'{stack['id']}'"))
    errors = []
    for cid, refs in uses.items():
        listed_by = "stack " + refs[0][1] if len(refs) == 1 else "stacks " + _and([who for _, who in refs])
        others = "" if len(refs) == 1 else f" (also at {_and([_line(source, p) for p, _ in refs[1:]])})"
        errors.append(
            source.error(
                refs[0][0],
                f"{listed_by} {'lists' if len(refs) == 1 else 'list'} credential '{cid}', but there is no "
                f"credentials/{cid}.yaml{others}",
            )
        )
    return errors


def _check_stack(source: SourceFile, i: int, stack: dict[str, Any]) -> list[MapError]:
    errors = []
    here: Path = ("stacks", i)
    listed: list[str] = stack["credentials"]
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


_ITEM_NOUNS = {
    "overview_questions": "overview question id",
    "artifacts": "artifact id",
    "reflection_prompts": "reflection prompt id",
}


def check_credential(
    source: SourceFile, file_stem: str, credential_files: Iterable[str] = ()
) -> list[MapError]:
    """``credential_files``: the file names (without .yaml) of every credential file of the map."""
    cred = source.data
    errors: list[MapError] = []
    if cred["id"] != file_stem and cred["id"] in credential_files:
        errors.append(
            source.error(
                ("id",),
                f"credential id '{cred['id']}' is used twice (credentials/{cred['id']}.yaml and "
                f"credentials/{file_stem}.yaml): give this one its own id, the same as its file name "
                f"('{file_stem}')",
            )
        )
    elif cred["id"] != file_stem:
        errors.append(
            source.error(("id",), f"credential id '{cred['id']}' must match its file name '{file_stem}.yaml'")
        )
    requirements = cred["requirements"]
    for key, noun in _ITEM_NOUNS.items():
        items = requirements.get(key, [])
        errors += _duplicates(
            source, ((("requirements", key, j, "id"), it["id"]) for j, it in enumerate(items)), noun
        )
    for key in ("overview_questions", "reflection_prompts"):
        for j, prompt in enumerate(requirements.get(key, [])):
            low, high = prompt.get("min_words", 0), prompt.get("max_words")
            if high is not None and high < low:
                errors.append(
                    source.error(
                        ("requirements", key, j, "max_words"),
                        f"max_words {high} is less than min_words {low}: no answer could meet both",
                    )
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
        errors += _check_accepts(source, j, artifact)
    if "review" in cred:
        errors += check_review(source, ("review",), cred["review"])
    rubric = cred["rubric"]
    levels: list[dict[str, Any]] = rubric["levels"]
    errors += _duplicates(
        source, ((("rubric", "levels", j, "id"), lv["id"]) for j, lv in enumerate(levels)), "rubric level id"
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
        source,
        ((("rubric", "criteria", j, "id"), c["id"]) for j, c in enumerate(criteria)),
        "rubric criterion id",
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
        for level_id in criterion.get("levels", {}):
            if level_id not in level_ids:
                errors.append(
                    source.error(
                        ("rubric", "criteria", j, "levels", level_id),
                        f"'{level_id}' is not one of the rubric levels ({', '.join(level_ids)}); "
                        "describe only the rubric's levels",
                    )
                )
    return errors


def _check_accepts(source: SourceFile, j: int, artifact: dict[str, Any]) -> list[MapError]:
    accepts: list[str] = artifact.get("accepts", [])
    at: Path = ("requirements", "artifacts", j, "accepts")
    errors = []
    if artifact["kind"] == "link" and "file" in accepts:
        errors.append(
            source.error(
                (*at, accepts.index("file")),
                "an artifact of kind 'link' takes no files: remove 'file', or choose the kind whose files "
                "it takes (document, lesson_plan, student_work, classroom_video or other)",
            )
        )
    if "link" in accepts and "video_link" in accepts:
        errors.append(
            source.error(
                (*at, accepts.index("video_link")),
                "'link' already takes any link, a video or not: keep 'link' or 'video_link', not both",
            )
        )
    return errors


def check_review(source: SourceFile, at: Path, review: dict[str, Any]) -> list[MapError]:
    """A panel's rule must decide every combination of reviews: a majority of an even panel can split."""
    panel: int = review["panel"]
    rule: str = review.get("decide", "majority")
    if rule == "majority" and panel % 2 == 0 and "ties" not in review:
        half = panel // 2
        return [
            source.error(
                (*at, "panel"),
                f"a majority of {panel} reviewers can split {half} to {half}: say where a tie goes with "
                "'ties: not_yet' or 'ties: earned' (or make the panel odd)",
            )
        ]
    if "ties" in review and (rule == "unanimous" or panel % 2 == 1):
        why = "a unanimous panel cannot tie" if rule == "unanimous" else f"a panel of {panel} cannot tie"
        return [source.error((*at, "ties"), f"'ties' is not used: {why}", "warning")]
    return []


def check_stack_reviews(course: SourceFile, credentials: dict[str, SourceFile]) -> list[MapError]:
    """A credential in two stacks that ask for different reviews must say which it follows."""
    errors = []
    first: dict[str, tuple[int, dict[str, Any]]] = {}
    for i, stack in enumerate(course.data["stacks"]):
        review = stack.get("review", {"panel": 1})
        for k, cid in enumerate(stack["credentials"]):
            own = credentials.get(cid)
            if own is not None and "review" in own.data:
                continue
            if cid not in first:
                first[cid] = (i, review)
            elif normalize_review(first[cid][1]) != normalize_review(review):
                j = first[cid][0]
                other = f"'{course.data['stacks'][j]['id']}' ({_line(course, ('stacks', j, 'id'))})"
                errors.append(
                    course.error(
                        ("stacks", i, "credentials", k),
                        f"credential '{cid}' is also in stack {other}, "
                        f"which asks for a different review: give credentials/{cid}.yaml its own 'review'",
                    )
                )
    return errors

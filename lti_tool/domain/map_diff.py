"""What a new version of a course map changes, against the live one, in a course designer's words.

Credentials, stacks, units and the award are matched by id; a change lists the fields that differ (every
field of the values in ``definitions``, so a field added to the format is compared without code here).
Requirements, rubrics and completion rules are reported on their own lines, since they change what a
learner must do.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields, is_dataclass
from enum import StrEnum
from typing import Any

from .definitions import CompletionRule, CourseMap, Credential, Stack

_SHORT = 60  # values up to this long are shown before -> after; longer ones are "changed"


class Action(StrEnum):
    ADDED = "added"
    REMOVED = "removed"
    CHANGED = "changed"


@dataclass(frozen=True)
class Change:
    action: Action
    subject: str  # course | unit | stack | completion rule | credential | requirement | rubric | award
    name: str  # what it is: "ef-foundations-of-practice (Foundations of Practice)"
    details: tuple[str, ...] = ()


def diff_maps(old: CourseMap, new: CourseMap) -> list[Change]:
    """Every difference between ``old`` (the live version) and ``new``; [] when they say the same."""
    changes: list[Change] = []
    course = _field_changes(old, new, skip={"units", "stacks", "credentials", "award", "id"})
    if course:
        changes.append(Change(Action.CHANGED, "course", new.title, course))
    changes += _matched(
        "unit", old.units, new.units, lambda u: f"{u.id} ({u.title})", lambda a, b: _field_changes(a, b)
    )
    changes += _stacks(old.stacks, new.stacks)
    changes += _credentials(old.credentials, new.credentials)
    if old.award != new.award:
        if old.award is None or new.award is None:
            award = new.award or old.award
            assert award is not None
            action = Action.ADDED if new.award else Action.REMOVED
            changes.append(Change(action, "award", f"{award.id} ({award.title})"))
        else:
            details = _field_changes(old.award, new.award)
            changes.append(Change(Action.CHANGED, "award", f"{new.award.id} ({new.award.title})", details))
    return changes


def _matched(
    subject: str,
    old: Sequence[Any],
    new: Sequence[Any],
    name: Any,
    compare: Any,
) -> list[Change]:
    before = {item.id: item for item in old}
    after = {item.id: item for item in new}
    changes = [Change(Action.ADDED, subject, name(item)) for item in new if item.id not in before]
    changes += [Change(Action.REMOVED, subject, name(item)) for item in old if item.id not in after]
    for item in new:
        if item.id in before and before[item.id] != item:
            details = compare(before[item.id], item)
            if details:
                changes.append(Change(Action.CHANGED, subject, name(item), tuple(details)))
    return changes


def _stacks(old: Sequence[Stack], new: Sequence[Stack]) -> list[Change]:
    changes = _matched(
        "stack",
        old,
        new,
        lambda s: f"{s.id} ({s.title})",
        lambda a, b: _field_changes(a, b, skip={"rule", "credential_ids"}) + _membership(a, b),
    )
    before = {s.id: s for s in old}
    for stack in new:
        was = before.get(stack.id)
        if was is not None and was.rule != stack.rule:
            changes.append(
                Change(
                    Action.CHANGED,
                    "completion rule",
                    f"{stack.id} ({stack.title})",
                    (f"{_rule_text(was.rule)} -> {_rule_text(stack.rule)}",),
                )
            )
    return changes


def _membership(old: Stack, new: Stack) -> tuple[str, ...]:
    added = [c for c in new.credential_ids if c not in old.credential_ids]
    removed = [c for c in old.credential_ids if c not in new.credential_ids]
    details = [f"credential added to the stack: {c}" for c in added]
    details += [f"credential taken out of the stack: {c}" for c in removed]
    if not added and not removed and old.credential_ids != new.credential_ids:
        details.append("credentials in a new order")
    return tuple(details)


def _rule_text(rule: CompletionRule) -> str:
    required = ", ".join(sorted(rule.required)) or "none"
    if not rule.choose:
        return f"all of: {required}"
    return f"all of: {required}; plus {rule.choose} of: {', '.join(sorted(rule.electives))}"


def _credentials(old: Sequence[Credential], new: Sequence[Credential]) -> list[Change]:
    changes = _matched(
        "credential",
        old,
        new,
        lambda c: f"{c.id} ({c.title})",
        lambda a, b: _field_changes(a, b, skip={"requirements", "rubric"}),
    )
    before = {c.id: c for c in old}
    for credential in new:
        was = before.get(credential.id)
        if was is None:
            continue
        name = f"{credential.id} ({credential.title})"
        if was.requirements != credential.requirements:
            for field in fields(credential.requirements):
                kind = field.name.replace("_", " ").rstrip("s")
                changes += [
                    Change(c.action, "requirement", f"{name}: {kind} {c.name}", c.details)
                    for c in _matched(
                        kind,
                        getattr(was.requirements, field.name),
                        getattr(credential.requirements, field.name),
                        lambda r: str(r.id),
                        lambda a, b: _field_changes(a, b),
                    )
                ]
        if was.rubric != credential.rubric:
            details: list[str] = list(
                _field_changes(was.rubric, credential.rubric, skip={"levels", "criteria"})
            )
            for part in ("levels", "criteria"):
                for c in _matched(
                    part.rstrip("s").replace("criteria", "criterion"),
                    getattr(was.rubric, part),
                    getattr(credential.rubric, part),
                    lambda r: str(r.id),
                    lambda a, b: _field_changes(a, b),
                ):
                    details.append(
                        f"{c.subject} {c.name} {c.action.value}"
                        + (f": {'; '.join(c.details)}" if c.details else "")
                    )
            changes.append(Change(Action.CHANGED, "rubric", name, tuple(details)))
    return changes


def _field_changes(old: Any, new: Any, skip: Iterable[str] = ()) -> tuple[str, ...]:
    """``field: before -> after`` for short values, ``field changed`` for long ones."""
    skipped = set(skip)
    details = []
    for field in fields(old):
        if field.name in skipped:
            continue
        a, b = getattr(old, field.name), getattr(new, field.name, None)
        if a == b:
            continue
        label = field.name.replace("_", " ")
        if _short(a) and _short(b):
            details.append(f"{label}: {_show(a)} -> {_show(b)}")
        else:
            details.append(f"{label} changed")
    return tuple(details)


def _short(value: Any) -> bool:
    if is_dataclass(value):
        return False
    if isinstance(value, frozenset | tuple | list):
        return len(_show(value)) <= _SHORT
    return (
        value is None
        or isinstance(value, bool | int | float)
        or (isinstance(value, str) and len(value) <= _SHORT)
    )


def _show(value: Any) -> str:
    if isinstance(value, frozenset | set):
        return "{" + ", ".join(sorted(str(v) for v in value)) + "}"
    if isinstance(value, tuple | list):
        return "[" + ", ".join(str(v) for v in value) + "]"
    if isinstance(value, StrEnum):
        return value.value
    if isinstance(value, str):
        return f"'{value}'"
    return str(value)

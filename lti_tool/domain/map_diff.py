"""What a new version of a course map changes, against the live one, in a course designer's words.

Credentials, stacks, units and the award are matched by id; a change lists the fields that differ (every
field of the values in ``definitions``, so a field added to the format is compared without code here).
Requirements, rubrics and completion rules are reported on their own lines, since they change what a
learner must do. Who decides a credential (its review panel; a stack's review is already applied to its
credentials) and what each rubric level looks like for a criterion are said in the map's terms, old and new.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields, is_dataclass
from enum import StrEnum
from typing import Any

from .definitions import (
    CompletionRule,
    CourseMap,
    Credential,
    PanelRule,
    ReviewPolicy,
    RubricCriterion,
    Stack,
    TieBreak,
)

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
        lambda a, b: (
            _field_changes(a, b, skip={"requirements", "rubric", "review"})
            + _review_changes(a.review, b.review)
        ),
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
            for part, compare in (("levels", _field_changes), ("criteria", _criterion_changes)):
                for c in _matched(
                    part.rstrip("s").replace("criteria", "criterion"),
                    getattr(was.rubric, part),
                    getattr(credential.rubric, part),
                    lambda r: str(r.id),
                    compare,
                ):
                    details.append(
                        f"{c.subject} {c.name} {c.action.value}"
                        + (f": {'; '.join(c.details)}" if c.details else "")
                    )
            changes.append(Change(Action.CHANGED, "rubric", name, tuple(details)))
    return changes


def _review_terms(policy: ReviewPolicy) -> dict[str, str]:
    """What decides, as the map says it (``panel``, ``decide``, ``ties``), leaving out what cannot matter:
    the rule of one assessor, the ties of a panel that cannot split evenly."""
    if policy.single:
        return {"panel": "1"}
    terms = {"panel": str(policy.panel), "decide": policy.rule.value}
    if policy.rule is PanelRule.MAJORITY and policy.panel % 2 == 0:
        terms["ties"] = _TIES[policy.ties]
    return terms


_TIES = {TieBreak.NOT_YET: "not yet", TieBreak.EARNED: "earned"}


def _panel_text(policy: ReviewPolicy) -> str:
    """A panel of more than one in a few words, as in "panel of 4, majority, ties earned"."""
    terms = _review_terms(policy)
    text = f"panel of {terms['panel']}, {terms['decide']}"
    return text + (f", ties {terms['ties']}" if "ties" in terms else "")


def _review_changes(old: ReviewPolicy, new: ReviewPolicy) -> tuple[str, ...]:
    """A credential's review, old and new: added (one assessor -> a panel), removed (a panel -> one
    assessor), or each term of a panel, ``before -> after`` where it differs. Nothing when the two decide
    alike (say the rule of a panel of 1)."""
    before, after = _review_terms(old), _review_terms(new)
    if before == after:
        return ()
    if old.single:
        return (f"review added: {_panel_text(new)}",)
    if new.single:
        return (f"review removed (one assessor decides): was a {_panel_text(old)}",)
    parts = []
    for term in ("panel", "decide", "ties"):
        a, b = before.get(term), after.get(term)
        if a == b:
            if a is not None:
                parts.append(f"{term} {a}")
        else:  # "ties none -> earned": only a majority of an even panel can tie
            parts.append(f"{term} {a or 'none'} -> {b or 'none'}")
    return ("review: " + ", ".join(parts),)


def _criterion_changes(old: RubricCriterion, new: RubricCriterion) -> tuple[str, ...]:
    return _field_changes(old, new, skip={"level_descriptions"}) + _level_descriptions(old, new)


def _level_descriptions(old: RubricCriterion, new: RubricCriterion) -> tuple[str, ...]:
    """What each level looks like for this criterion, by level id in the new rubric's order (then levels
    only the old one described): added, removed, or ``before -> after`` (``changed`` when long)."""
    before, after = dict(old.level_descriptions), dict(new.level_descriptions)
    details = []
    for level in [*after, *(lv for lv in before if lv not in after)]:
        a, b = before.get(level), after.get(level)
        if a == b:
            continue
        label = f"level {level} description"
        if a is None:
            details.append(f"{label} added" + (f": {_show(b)}" if _short(b) else ""))
        elif b is None:
            details.append(f"{label} removed" + (f" (was {_show(a)})" if _short(a) else ""))
        elif _short(a) and _short(b):
            details.append(f"{label}: {_show(a)} -> {_show(b)}")
        else:
            details.append(f"{label} changed")
    return tuple(details)


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

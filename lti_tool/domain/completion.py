"""When is a stack complete, and when is a course award due? And the stack's rule in words, for every page."""

from __future__ import annotations

from collections.abc import Iterable, Set
from dataclasses import dataclass

from .definitions import CompletionRule, CourseAward, CourseMap, Stack


def rule_satisfied(rule: CompletionRule, earned: Set[str]) -> bool:
    if not rule.required <= earned:
        return False
    return len(rule.electives & earned) >= rule.choose


def stack_complete(stack: Stack, earned: Set[str]) -> bool:
    return rule_satisfied(stack.rule, earned)


def completed_stacks(course: CourseMap, earned: Set[str]) -> list[Stack]:
    return [s for s in course.stacks if stack_complete(s, earned)]


def award_due(award: CourseAward, completed_stack_ids: Iterable[str]) -> bool:
    return set(award.stack_ids) <= set(completed_stack_ids)


def progress(stack: Stack, earned: Set[str]) -> tuple[int, int]:
    """(earned that count, needed) for a progress bar."""
    needed = len(stack.rule.required) + stack.rule.choose
    counted = len(stack.rule.required & earned) + min(len(stack.rule.electives & earned), stack.rule.choose)
    return counted, needed


@dataclass(frozen=True)
class StackRule:
    """A stack's completion rule as pages state it: which credentials are required, which are electives and
    how many of those count; ``condition`` completes "... when <condition>"."""

    required: tuple[str, ...]  # credential ids, in the stack's order
    electives: tuple[str, ...]
    choose: int
    condition: str

    @property
    def has_electives(self) -> bool:
        return bool(self.electives)

    def role(self, credential_id: str) -> str:
        """``required``, ``elective`` or "" (not part of the rule)."""
        if credential_id in self.required:
            return "required"
        return "elective" if credential_id in self.electives else ""


def _count(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def describe_rule(stack: Stack) -> StackRule:
    """The one wording of a stack's rule: "all 5 micro-credentials of this stack are earned", or "the 2
    required micro-credentials of this stack are earned, plus any 1 of its 3 electives"."""
    rule = stack.rule
    required = tuple(c for c in stack.credential_ids if c in rule.required)
    electives = tuple(c for c in stack.credential_ids if c in rule.electives and c not in rule.required)
    if not electives or rule.choose == 0:
        if len(required) == 1:
            condition = "its one micro-credential is earned"
        else:
            condition = f"all {len(required)} micro-credentials of this stack are earned"
        if electives:
            condition += f" (its {_count(len(electives), 'elective is', 'electives are')} optional)"
    elif not required:
        verb = "is" if rule.choose == 1 else "are"
        condition = f"any {rule.choose} of its {len(electives)} micro-credentials {verb} earned"
    else:
        if len(required) == 1:
            condition = "its required micro-credential is earned"
        else:
            condition = f"the {len(required)} required micro-credentials of this stack are earned"
        if rule.choose >= len(electives):
            condition += (
                ", plus its elective" if len(electives) == 1 else f", plus all {len(electives)} electives"
            )
        else:
            condition += f", plus any {rule.choose} of its {len(electives)} electives"
    return StackRule(required, electives, rule.choose, condition)

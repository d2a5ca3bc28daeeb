"""When is a stack complete, and when is a course award due?"""

from __future__ import annotations

from collections.abc import Iterable, Set

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

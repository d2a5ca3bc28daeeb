"""Which CEU grants are due for a learner, given the credentials they have earned.

CEUs are granted only when every embedded credential of a stack is earned
(the stack's completion rule), and the course award only when all its stacks are.
Recording each grant exactly once is the database's job (a unique key).
"""

from __future__ import annotations

from collections.abc import Set
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from .ceu import ceus_for_hours
from .completion import award_due, completed_stacks
from .definitions import CourseMap


class GrantKind(StrEnum):
    STACK = "stack"
    COURSE_AWARD = "course_award"


@dataclass(frozen=True)
class DueGrant:
    kind: GrantKind
    target_id: str
    title: str
    contact_hours: Decimal
    ceus: Decimal


def due_grants(course: CourseMap, earned: Set[str]) -> list[DueGrant]:
    done = completed_stacks(course, earned)
    grants = [
        DueGrant(
            GrantKind.STACK,
            s.id,
            s.title,
            Decimal(str(s.contact_hours)),
            ceus_for_hours(s.contact_hours),
        )
        for s in done
    ]
    if course.award is not None and award_due(course.award, (s.id for s in done)):
        grants.append(
            DueGrant(
                GrantKind.COURSE_AWARD,
                course.award.id,
                course.award.title,
                Decimal(str(course.award.contact_hours)),
                ceus_for_hours(course.award.contact_hours),
            )
        )
    return grants

"""CEU eligibility for a whole course at once (reconciliation, reports, the benchmark)."""

from __future__ import annotations

from dataclasses import dataclass

from ..db import Database
from ..db.queries import completion_table
from .scope import context_course


@dataclass(frozen=True)
class EligibilityReport:
    learners_with_a_complete_stack: int
    complete_stacks: dict[str, int]
    award_eligible: int
    ungranted: list[tuple[int, str]]  # (user id, stack key) complete but not yet granted


def course_eligibility(db: Database, context_id: int) -> EligibilityReport:
    """Who has completed which stack, who is due the course award, and which grants are not recorded yet."""
    with db.read() as session:
        _, course, version_id = context_course(session, context_id)
        table = completion_table(session, context_id, version_id)
    keys = table.stack_keys
    per_stack = dict.fromkeys(keys, 0)
    ungranted: list[tuple[int, str]] = []
    # Every stack of a valid map lists at least one credential, so every award stack has a bit.
    award_bits = sum(table.bit(k) for k in course.award.stack_ids) if course.award else None
    award_eligible = 0
    for user_id, done, granted in table.rows:
        for i, key in enumerate(keys):
            if done >> i & 1:
                per_stack[key] += 1
                if not granted >> i & 1:
                    ungranted.append((user_id, key))
        if award_bits is not None and done & award_bits == award_bits:
            award_eligible += 1
    return EligibilityReport(len(table.rows), per_stack, award_eligible, sorted(ungranted))

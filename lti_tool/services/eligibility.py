"""CEU eligibility for a whole course at once (reconciliation, reports, the benchmark)."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass

from ..db import Database
from ..db.queries import completed_stacks
from .scope import context_course


@dataclass(frozen=True)
class EligibilityReport:
    learners_with_a_complete_stack: int
    complete_stacks: dict[str, int]
    award_eligible: int
    ungranted: list[tuple[int, str]]  # (user id, stack key) complete but not yet granted


def course_eligibility(db: Database, context_id: int) -> EligibilityReport:
    with db.read() as session:
        _, course, version_id = context_course(session, context_id)
        rows = completed_stacks(session, context_id, version_id)
    per_learner: dict[int, set[str]] = defaultdict(set)
    per_stack: Counter[str] = Counter()
    ungranted = []
    for row in rows:
        per_learner[row.user_id].add(row.stack_key)
        per_stack[row.stack_key] += 1
        if not row.granted:
            ungranted.append((row.user_id, row.stack_key))
    award_stacks = set(course.award.stack_ids) if course.award else None
    award_eligible = (
        sum(1 for stacks in per_learner.values() if award_stacks <= stacks) if award_stacks is not None else 0
    )
    return EligibilityReport(len(per_learner), dict(per_stack), award_eligible, sorted(ungranted))

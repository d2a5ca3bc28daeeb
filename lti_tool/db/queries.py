"""Set-based queries: stack completion and CEU eligibility for a whole course in one statement."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Integer, and_, case, func, select
from sqlalchemy.orm import Session

from .models import Grant, StackCredential, StackDef, Submission


@dataclass(frozen=True)
class CompletedStack:
    user_id: int
    stack_key: str
    granted: bool


def completed_stacks(session: Session, context_id: int, map_version_id: int) -> list[CompletedStack]:
    """Every (learner, stack) whose completion rule is met in this course, and whether it is granted.

    One GROUP BY over the earned submissions joined to the stack's credential list: required credentials
    must all be earned, electives must reach the stack's ``choose``.
    """
    totals = (
        select(
            StackCredential.stack_def_id.label("stack_def_id"),
            func.sum(case((StackCredential.required, 1), else_=0)).label("required_total"),
        )
        .join(StackDef, StackDef.id == StackCredential.stack_def_id)
        .where(StackDef.map_version_id == map_version_id)
        .group_by(StackCredential.stack_def_id)
        .subquery()
    )
    earned = (
        select(
            Submission.user_id.label("user_id"),
            StackDef.id.label("stack_def_id"),
            StackDef.stack_key.label("stack_key"),
            StackDef.choose.label("choose"),
            func.sum(case((StackCredential.required, 1), else_=0)).label("required_earned"),
            func.sum(case((StackCredential.required, 0), else_=1)).label("electives_earned"),
        )
        .join(StackCredential, StackCredential.credential_key == Submission.credential_key)
        .join(StackDef, StackDef.id == StackCredential.stack_def_id)
        .where(
            Submission.context_id == context_id,
            Submission.state == "earned",
            StackDef.map_version_id == map_version_id,
        )
        .group_by(Submission.user_id, StackDef.id, StackDef.stack_key, StackDef.choose)
        .subquery()
    )
    query = (
        select(earned.c.user_id, earned.c.stack_key, Grant.id.isnot(None).cast(Integer))
        .join(totals, totals.c.stack_def_id == earned.c.stack_def_id)
        .outerjoin(
            Grant,
            and_(
                Grant.context_id == context_id,
                Grant.user_id == earned.c.user_id,
                Grant.kind == "stack",
                Grant.target_key == earned.c.stack_key,
            ),
        )
        .where(
            earned.c.required_earned == totals.c.required_total,
            earned.c.electives_earned >= earned.c.choose,
        )
    )
    return [CompletedStack(int(u), str(s), bool(g)) for u, s, g in session.execute(query)]

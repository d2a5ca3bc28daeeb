"""Set-based queries: stack completion and CEU eligibility for a whole course in one statement."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    BigInteger,
    Integer,
    String,
    Subquery,
    and_,
    case,
    exists,
    func,
    literal,
    select,
    text,
    union_all,
)
from sqlalchemy.orm import Session

from .models import Grant, StackCredential, StackDef, Submission

# A learner's earned credentials fit one 64-bit mask when a course has at most this many credentials.
MASK_LIMIT = 62


@dataclass(frozen=True)
class CompletedStack:
    user_id: int
    stack_key: str
    granted: bool


def completed_stacks(session: Session, context_id: int, map_version_id: int) -> list[CompletedStack]:
    """Every (learner, stack) whose completion rule is met in this course, and whether it is granted."""
    members = session.execute(
        select(
            StackDef.id,
            StackDef.stack_key,
            StackDef.choose,
            StackCredential.credential_key,
            StackCredential.required,
        )
        .join(StackCredential, StackCredential.stack_def_id == StackDef.id)
        .where(StackDef.map_version_id == map_version_id)
        .order_by(StackCredential.credential_key)
    ).all()
    keys = sorted({m.credential_key for m in members})
    if not keys:
        return []
    if session.get_bind().dialect.name == "postgresql":
        # Aggregating a million rows spills to disk at the default 4 MB; this query may use more, once.
        session.execute(text("SET LOCAL work_mem = '64MB'"))
    if len(keys) > MASK_LIMIT:
        return _completed_by_join(session, context_id, map_version_id)
    return _completed_by_mask(session, context_id, map_version_id, keys, members)


@dataclass
class _StackMasks:
    key: str
    choose: int
    required: int = 0
    electives: int = 0


def _completed_by_mask(
    session: Session, context_id: int, map_version_id: int, keys: list[str], members: Sequence[Any]
) -> list[CompletedStack]:
    """One pass over the earned submissions: each learner's earned set becomes a bit mask (GROUP BY learner),
    then each stack's rule is a mask test. A learner has one submission per credential (unique key),
    so the sum of distinct powers of two is their bitwise OR, on SQLite as on PostgreSQL."""
    bit = {key: 1 << i for i, key in enumerate(keys)}
    stacks: dict[int, _StackMasks] = {}
    for m in members:
        masks_of = stacks.setdefault(m.id, _StackMasks(m.stack_key, m.choose))
        if m.required:
            masks_of.required |= bit[m.credential_key]
        else:
            masks_of.electives |= bit[m.credential_key]
    bits = _rows("credential_bits", [("key", String), ("bit", BigInteger)], list(bit.items()))
    masks = (
        select(Submission.user_id.label("user_id"), func.sum(bits.c.bit).cast(BigInteger).label("mask"))
        .join(bits, bits.c.key == Submission.credential_key)
        .where(Submission.context_id == context_id, Submission.state == "earned")
        .group_by(Submission.user_id)
        .subquery()
    )
    rules = _rows(
        "stack_rules",
        [("stack_key", String), ("required", BigInteger), ("electives", BigInteger), ("choose", Integer)],
        [(s.key, s.required, s.electives, s.choose) for s in stacks.values()],
    )
    electives_earned = (
        select(func.count())
        .select_from(bits)
        .where(masks.c.mask.op("&")(bits.c.bit) != 0, rules.c.electives.op("&")(bits.c.bit) != 0)
        .scalar_subquery()
    )
    granted = exists().where(
        Grant.context_id == context_id,
        Grant.user_id == masks.c.user_id,
        Grant.kind == "stack",
        Grant.target_key == rules.c.stack_key,
    )
    query = select(masks.c.user_id, rules.c.stack_key, case((granted, 1), else_=0)).join(
        rules,
        and_(
            masks.c.mask.op("&")(rules.c.required) == rules.c.required,
            case((rules.c.choose == 0, literal(True)), else_=electives_earned >= rules.c.choose),
        ),
    )
    return [CompletedStack(int(u), str(s), bool(g)) for u, s, g in session.execute(query)]


def _rows(name: str, columns: list[tuple[str, Any]], data: list[tuple[object, ...]]) -> Subquery:
    """A small constant table (UNION ALL of literal rows: SQLite has no VALUES with column names)."""
    selects = [
        select(*(literal(value, type_).label(col) for (col, type_), value in zip(columns, row, strict=True)))
        for row in data
    ]
    return union_all(*selects).subquery(name)


def _completed_by_join(session: Session, context_id: int, map_version_id: int) -> list[CompletedStack]:
    """The general form for very large courses: a GROUP BY (learner, stack) over earned submissions."""
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

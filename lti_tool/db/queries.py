"""Set-based queries: stack completion and CEU eligibility for a whole course in one statement, each
learner's stacks judged by the map version they started them under."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from sqlalchemy import (
    BigInteger,
    Integer,
    and_,
    case,
    func,
    literal,
    select,
    text,
)
from sqlalchemy.orm import Session, aliased

from .models import CourseMapVersion, Grant, LearnerStackVersion, StackCredential, StackDef, Submission

# A learner's earned credentials fit one 64-bit mask when a course has at most this many credentials.
MASK_LIMIT = 62


class CompletedStack(NamedTuple):
    user_id: int
    stack_key: str
    granted: bool


@dataclass(frozen=True)
class CompletionTable:
    """Stack completion for every learner of a course, compactly: one row per learner with a complete
    stack, ``(user_id, done, granted)`` where bit i of ``done``/``granted`` stands for ``stack_keys[i]``."""

    stack_keys: tuple[str, ...]
    rows: list[tuple[int, int, int]]

    def bit(self, stack_key: str) -> int:
        return 1 << self.stack_keys.index(stack_key)

    def pairs(self) -> Iterator[CompletedStack]:
        for user_id, done, granted in self.rows:
            for i, key in enumerate(self.stack_keys):
                if done >> i & 1:
                    yield CompletedStack(user_id, key, bool(granted >> i & 1))


def completed_stacks(session: Session, context_id: int, map_version_id: int) -> list[CompletedStack]:
    """Every (learner, stack) whose completion rule is met in this course, and whether it is granted."""
    return list(completion_table(session, context_id, map_version_id).pairs())


def completion_table(session: Session, context_id: int, map_version_id: int) -> CompletionTable:
    """Which stacks each learner of the course has completed, and which are granted, in one query.

    ``map_version_id`` is the live version of the course's map. A learner's stack is judged by the version
    recorded for them in ``learner_stack_versions`` (services/learner_maps.py), else by the live version;
    only the live version's stacks are reported."""
    others = _other_versions_in_use(session, context_id, map_version_id)
    rows = session.execute(
        select(
            StackDef.id,
            StackDef.map_version_id,
            StackDef.stack_key,
            StackDef.choose,
            StackCredential.credential_key,
            StackCredential.required,
        )
        .join(StackCredential, StackCredential.stack_def_id == StackDef.id)
        .where(StackDef.map_version_id.in_([map_version_id, *others]))
        .order_by(StackCredential.credential_key, StackDef.map_version_id)
    ).all()
    live_stacks = {m.stack_key for m in rows if m.map_version_id == map_version_id}
    members = [m for m in rows if m.stack_key in live_stacks]
    keys = sorted({m.credential_key for m in members})
    if not keys:
        return CompletionTable((), [])
    if session.get_bind().dialect.name == "postgresql":
        # Aggregating a million rows spills to disk at the default 4 MB; this query may use more, once.
        session.execute(text("SET LOCAL work_mem = '64MB'"))
        # Its long CASE expressions (a rule per stack and version) cost more to JIT-compile than to run.
        session.execute(text("SET LOCAL jit = off"))
    if len(keys) > MASK_LIMIT:
        return _table_from_pairs(_completed_by_join(session, context_id, map_version_id, others))
    return _completed_by_mask(session, context_id, keys, members, map_version_id, others)


def _other_versions_in_use(session: Session, context_id: int, live_version_id: int) -> list[int]:
    """The versions of the live version's map other than it (older ones, or a newer one after a reload made
    an older one live again) that judge some learner's stack in this course: one index probe per version
    of the map, so the usual case (everyone on the live version) costs nothing."""
    live = aliased(CourseMapVersion)
    in_use = (
        select(LearnerStackVersion.id)
        .where(
            LearnerStackVersion.context_id == context_id,
            LearnerStackVersion.map_version_id == CourseMapVersion.id,
        )
        .exists()
    )
    return list(
        session.scalars(
            select(CourseMapVersion.id)
            .join(live, live.course_key == CourseMapVersion.course_key)
            .where(live.id == live_version_id, CourseMapVersion.id != live_version_id, in_use)
            .order_by(CourseMapVersion.id)
        )
    )


@dataclass
class _StackMasks:
    key: str
    choose: int
    required: int = 0
    electives: list[int] = field(default_factory=list)


def _completed_by_mask(
    session: Session,
    context_id: int,
    keys: list[str],
    members: Sequence[Any],
    live_version_id: int,
    others: list[int],
) -> CompletionTable:
    """One pass over the earned submissions: each learner's earned set becomes a bit mask (GROUP BY learner),
    then each stack's rule is a mask test. A learner has one submission per credential (unique key),
    so the sum of distinct powers of two is their bitwise OR, on SQLite as on PostgreSQL. Learners judged
    by another version for some stack take that version's test for it (their recorded versions are
    joined, one row per learner, only when such versions exist)."""
    bit = {key: 1 << i for i, key in enumerate(keys)}
    versions: dict[int, dict[str, _StackMasks]] = {}
    for m in members:
        masks_of = versions.setdefault(m.map_version_id, {}).setdefault(
            m.stack_key, _StackMasks(m.stack_key, m.choose)
        )
        if m.required:
            masks_of.required |= bit[m.credential_key]
        else:
            masks_of.electives.append(bit[m.credential_key])
    credential_bit = case(
        {key: literal(value, BigInteger) for key, value in bit.items()},
        value=Submission.credential_key,
        else_=literal(0, BigInteger),
    )
    mask = func.sum(credential_bit).cast(BigInteger)
    ordered = list(versions[live_version_id].values())
    earned = (Submission.context_id == context_id, Submission.state == "earned")
    # One row per learner with at least one complete stack: bit i of "done" is stack i of ``ordered``.
    if not others:
        done = _sum(_bit_if(_rule_met(mask, stack), i) for i, stack in enumerate(ordered))
        learners = select(Submission.user_id, done.label("done")).where(*earned).group_by(Submission.user_id)
    else:
        masks = (
            select(Submission.user_id.label("user_id"), mask.label("mask"))
            .where(*earned)
            .group_by(Submission.user_id)
            .subquery()
        )
        recorded = (
            select(
                LearnerStackVersion.user_id.label("user_id"),
                *(
                    func.max(
                        case((LearnerStackVersion.stack_key == stack.key, LearnerStackVersion.map_version_id))
                    ).label(f"v{i}")
                    for i, stack in enumerate(ordered)
                ),
            )
            .where(
                LearnerStackVersion.context_id == context_id, LearnerStackVersion.map_version_id.in_(others)
            )
            .group_by(LearnerStackVersion.user_id)
            .subquery()
        )

        def stack_done(i: int, stack: _StackMasks) -> Any:
            live = _bit_if(_rule_met(masks.c.mask, stack), i)
            branches = [
                (recorded.c[f"v{i}"] == v, _bit_if(_rule_met(masks.c.mask, versions[v][stack.key]), i))
                for v in others
                if stack.key in versions.get(v, {})
            ]
            return case(*branches, else_=live) if branches else live

        done = _sum(stack_done(i, stack) for i, stack in enumerate(ordered))
        learners = select(masks.c.user_id, done.label("done")).select_from(
            masks.outerjoin(recorded, recorded.c.user_id == masks.c.user_id)
        )
    learners_q = learners.subquery()
    stack_bit = case(
        {stack.key: literal(1 << i, Integer) for i, stack in enumerate(ordered)},
        value=Grant.target_key,
        else_=0,
    )
    granted = (
        select(Grant.user_id, func.sum(stack_bit).label("granted"))
        .where(Grant.context_id == context_id, Grant.kind == "stack", Grant.revoked_at.is_(None))
        .group_by(Grant.user_id)
        .subquery()
    )
    query = (
        select(learners_q.c.user_id, learners_q.c.done, func.coalesce(granted.c.granted, 0))
        .outerjoin(granted, granted.c.user_id == learners_q.c.user_id)
        .where(learners_q.c.done > 0)
    )
    rows = [(int(u), int(d), int(g)) for u, d, g in session.execute(query)]
    return CompletionTable(tuple(stack.key for stack in ordered), rows)


def _bit_if(condition: Any, i: int) -> Any:
    return case((condition, literal(1 << i, Integer)), else_=0)


def _sum(terms: Iterable[Any]) -> Any:
    return sum(terms, start=literal(0, Integer))


def _table_from_pairs(pairs: list[CompletedStack]) -> CompletionTable:
    keys = tuple(sorted({p.stack_key for p in pairs}))
    rows: dict[int, list[int]] = {}
    for p in pairs:
        row = rows.setdefault(p.user_id, [0, 0])
        row[0] |= 1 << keys.index(p.stack_key)
        if p.granted:
            row[1] |= 1 << keys.index(p.stack_key)
    return CompletionTable(keys, [(u, d, g) for u, (d, g) in rows.items()])


def _rule_met(mask: Any, stack: _StackMasks) -> Any:
    required = literal(stack.required, BigInteger)
    condition = mask.op("&")(required) == required
    if stack.choose:
        electives_earned = sum(
            (case((mask.op("&")(literal(b, BigInteger)) != 0, 1), else_=0) for b in stack.electives),
            start=literal(0, Integer),
        )
        condition = and_(condition, electives_earned >= stack.choose)
    return condition


def _completed_by_join(
    session: Session, context_id: int, live_version_id: int, others: list[int]
) -> list[CompletedStack]:
    """The general form for very large courses: a GROUP BY (learner, stack) over earned submissions, each
    stack counted under the version that judges it for that learner (see ``completion_table``)."""
    versions = [live_version_id, *others]
    live_keys = select(StackDef.stack_key).where(StackDef.map_version_id == live_version_id)
    totals = (
        select(
            StackCredential.stack_def_id.label("stack_def_id"),
            func.sum(case((StackCredential.required, 1), else_=0)).label("required_total"),
        )
        .join(StackDef, StackDef.id == StackCredential.stack_def_id)
        .where(StackDef.map_version_id.in_(versions))
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
        .where(Submission.context_id == context_id, Submission.state == "earned")
    )
    if others:
        recorded = aliased(LearnerStackVersion)
        earned = earned.outerjoin(
            recorded,
            and_(
                recorded.context_id == context_id,
                recorded.user_id == Submission.user_id,
                recorded.stack_key == StackDef.stack_key,
                recorded.map_version_id.in_(others),
            ),
        ).where(
            StackDef.map_version_id == func.coalesce(recorded.map_version_id, live_version_id),
            StackDef.stack_key.in_(live_keys),
        )
    else:
        earned = earned.where(StackDef.map_version_id == live_version_id)
    grouped = earned.group_by(Submission.user_id, StackDef.id, StackDef.stack_key, StackDef.choose).subquery()
    query = (
        select(grouped.c.user_id, grouped.c.stack_key, Grant.id.isnot(None).cast(Integer))
        .join(totals, totals.c.stack_def_id == grouped.c.stack_def_id)
        .outerjoin(
            Grant,
            and_(
                Grant.context_id == context_id,
                Grant.user_id == grouped.c.user_id,
                Grant.kind == "stack",
                Grant.target_key == grouped.c.stack_key,
            ),
        )
        .where(
            grouped.c.required_earned == totals.c.required_total,
            grouped.c.electives_earned >= grouped.c.choose,
        )
    )
    return [CompletedStack(int(u), str(s), bool(g)) for u, s, g in session.execute(query)]

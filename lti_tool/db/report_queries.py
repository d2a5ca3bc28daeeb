"""Set-based queries behind the designer's reports: who the course's learners are, how many stand where in
each stack, how long assessors take, credentials earned per week, and the progress table streamed row by
row. Every count is a GROUP BY in the database; nothing here loads a row per learner into memory except
the one page of learners a page shows, or the stream the CSV export writes as it reads.

Stacks are passed in as plain values (``StackSpec``), taken from the course map the course follows now.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, NamedTuple

from sqlalchemy import (
    BigInteger,
    Date,
    Integer,
    String,
    and_,
    case,
    cast,
    exists,
    func,
    literal,
    or_,
    select,
    text,
)
from sqlalchemy.orm import Session
from sqlalchemy.sql import ColumnElement, Select

from .models import (
    AttemptDecision,
    Grant,
    Membership,
    Submission,
    SubmissionAttempt,
    User,
)

LEARNER_ROLE = '%"learner"%'  # Membership.roles is a JSON list of the tool's roles, stored as text
STATES = ("draft", "submitted", "not_yet", "earned")


@dataclass(frozen=True)
class StackSpec:
    key: str
    required: tuple[str, ...]
    electives: tuple[str, ...]
    choose: int

    @property
    def credential_keys(self) -> tuple[str, ...]:
        return (*self.required, *(e for e in self.electives if e not in self.required))


def _is_learner(context_id: int) -> ColumnElement[bool]:
    """A course member counts as a learner when their roles say so and they have not left the course (a
    roster member marked Deleted), or when they have evidence here whatever their roles are now."""
    has_evidence = exists(
        select(Submission.id).where(
            Submission.context_id == context_id, Submission.user_id == Membership.user_id
        )
    )
    return or_(
        and_(cast(Membership.roles, String).like(LEARNER_ROLE), Membership.status != "Deleted"),
        has_evidence,
    )


def learner_count(session: Session, context_id: int) -> int:
    query = select(func.count()).where(Membership.context_id == context_id, _is_learner(context_id))
    return int(session.scalar(query) or 0)


def credential_state_counts(
    session: Session, context_id: int, keys: Sequence[str]
) -> list[tuple[str, str, int]]:
    """(credential, state, learners) for the credentials ``keys``: one row per learner and credential (the
    unique key), so counting rows counts learners."""
    if not keys:
        return []
    query = (
        select(Submission.credential_key, Submission.state, func.count())
        .where(Submission.context_id == context_id, Submission.credential_key.in_(keys))
        .group_by(Submission.credential_key, Submission.state)
    )
    return [(str(k), str(s), int(n)) for k, s, n in session.execute(query)]


def _count_if(condition: ColumnElement[bool]) -> Any:
    return func.sum(case((condition, 1), else_=0))


FUNNEL_BUCKETS = ("started", "drafting", "not_yet", "waiting", "complete")


MASK_BITS = 62  # credentials per 64-bit mask (signed, with room to spare)


def _chunks(keys: Sequence[str]) -> list[list[str]]:
    return [list(keys[i : i + MASK_BITS]) for i in range(0, len(keys), MASK_BITS)]


def stack_funnel(session: Session, context_id: int, stacks: Sequence[StackSpec]) -> dict[str, dict[str, int]]:
    """For each stack, how many learners with evidence in it stand where, each learner in one bucket:
    ``complete`` (its rule is met: every required credential earned, plus ``choose`` electives), else
    ``waiting`` (some evidence is waiting for an assessor), else ``not_yet`` (some was sent back), else
    ``drafting`` (evidence started, nothing waiting or sent back). ``started`` is their sum.

    One pass over the course's submissions: each credential is a bit, and per learner (GROUP BY) the bits
    of their credentials in each state are summed into masks (a learner has one submission per credential,
    so the sum is the bitwise OR); each stack's buckets are then mask tests summed over those rows. A map
    with more than 62 credentials takes one mask per 62. No row reaches Python."""
    stacks = [s for s in stacks if s.credential_keys]
    if not stacks:
        return {}
    keys = sorted({k for s in stacks for k in s.credential_keys})
    chunks = _chunks(keys)
    where = {k: (c, 1 << i) for c, chunk in enumerate(chunks) for i, k in enumerate(chunk)}
    state = Submission.state
    columns: list[Any] = []
    for c, chunk in enumerate(chunks):
        bit = case(
            {k: literal(1 << i, BigInteger) for i, k in enumerate(chunk)},
            value=Submission.credential_key,
            else_=literal(0, BigInteger),
        )
        columns.append(func.sum(bit).cast(BigInteger).label(f"any{c}"))
        for name in ("submitted", "not_yet", "earned"):
            in_state = func.coalesce(func.sum(bit).filter(state == name), 0).cast(BigInteger)
            columns.append(in_state.label(f"{name}{c}"))
    learners = (
        select(*columns)
        .where(Submission.context_id == context_id, Submission.credential_key.in_(keys))
        .group_by(Submission.user_id)
        .subquery()
    )

    def masks(credentials: Sequence[str]) -> dict[int, int]:
        out: dict[int, int] = {}
        for k in credentials:
            c, b = where[k]
            out[c] = out.get(c, 0) | b
        return out

    def touches(name: str, credentials: Sequence[str]) -> ColumnElement[bool]:
        return or_(
            *(
                learners.c[f"{name}{c}"].op("&")(literal(m, BigInteger)) != 0
                for c, m in masks(credentials).items()
            )
        )

    def has(name: str, k: str) -> Any:
        c, b = where[k]
        return case((learners.c[f"{name}{c}"].op("&")(literal(b, BigInteger)) != 0, 1), else_=0)

    outer: list[Any] = []
    for stack in stacks:
        started = touches("any", stack.credential_keys)
        required = and_(
            *(
                learners.c[f"earned{c}"].op("&")(literal(m, BigInteger)) == literal(m, BigInteger)
                for c, m in masks(stack.required).items()
            ),
            literal(True),
        )
        electives = sum((has("earned", k) for k in stack.electives), start=literal(0, Integer))
        complete = and_(started, required, electives >= stack.choose)
        open_ = and_(started, ~complete)
        waiting = touches("submitted", stack.credential_keys)
        sent_back = touches("not_yet", stack.credential_keys)
        outer += [
            _count_if(started),
            _count_if(and_(open_, ~waiting, ~sent_back)),
            _count_if(and_(open_, ~waiting, sent_back)),
            _count_if(and_(open_, waiting)),
            _count_if(complete),
        ]
    row = session.execute(select(*outer).select_from(learners)).one()
    width = len(FUNNEL_BUCKETS)
    return {
        stack.key: {name: int(row[i * width + j] or 0) for j, name in enumerate(FUNNEL_BUCKETS)}
        for i, stack in enumerate(stacks)
    }


def report_fingerprint(session: Session, context_id: int) -> tuple[Any, ...]:
    """What changes whenever the course's report would: the latest change to its evidence (every save,
    submission, decision and revocation sets ``updated_at``), and its newest grant and revocation. Index
    probes only (``ix_submissions_context_updated``, the grants of one course)."""
    latest = select(func.max(Submission.updated_at)).where(Submission.context_id == context_id)
    grants = select(func.max(Grant.id), func.max(Grant.revoked_at), func.count()).where(
        Grant.context_id == context_id
    )
    g = session.execute(grants).one()
    return (session.scalar(latest), *g)


class GrantTotals(NamedTuple):
    learners: int
    ceus: float


def grant_totals(session: Session, context_id: int, course_key: str) -> dict[tuple[str, str], GrantTotals]:
    """Live grants under the course's map by (kind, target): how many learners, and the CEUs granted."""
    query = (
        select(Grant.kind, Grant.target_key, func.count(), func.coalesce(func.sum(Grant.ceus), 0))
        .where(Grant.context_id == context_id, Grant.course_key == course_key, Grant.revoked_at.is_(None))
        .group_by(Grant.kind, Grant.target_key)
    )
    return {(str(k), str(t)): GrantTotals(int(n), float(c)) for k, t, n, c in session.execute(query)}


def _seconds_between(session: Session, start: Any, end: Any) -> Any:
    if session.get_bind().dialect.name == "postgresql":
        return func.extract("epoch", end - start)
    # SQLite keeps UTC times as ISO text; julianday reads them as days.
    return (func.julianday(end) - func.julianday(start)) * 86400.0


def _decision_durations(session: Session, context_id: int) -> Any:
    """(credential, seconds from an attempt's submission to its decision) for every earned / not yet
    decision in the course (a revocation is no decision on submitted work). The current attempt was
    submitted at the submission's ``submitted_at``; an earlier one at the time kept with it
    (``submission_attempts``), looked up only for those."""
    earlier = (
        select(SubmissionAttempt.submitted_at)
        .where(
            SubmissionAttempt.submission_id == AttemptDecision.submission_id,
            SubmissionAttempt.attempt == AttemptDecision.attempt,
        )
        .scalar_subquery()
    )
    submitted = case((Submission.attempt == AttemptDecision.attempt, Submission.submitted_at), else_=earlier)
    return (
        select(
            Submission.credential_key.label("credential_key"),
            _seconds_between(session, submitted, AttemptDecision.decided_at).label("seconds"),
        )
        .join(Submission, Submission.id == AttemptDecision.submission_id)
        .where(Submission.context_id == context_id, AttemptDecision.decision.in_(("earned", "not_yet")))
        # Computed once, then read by each stack's aggregate (PostgreSQL would otherwise inline it into each).
        .cte("durations")
        .prefix_with("MATERIALIZED", dialect="postgresql")
    )


def median_decision_seconds(
    session: Session, context_id: int, stacks: Sequence[StackSpec]
) -> dict[str, tuple[float, int]]:
    """Per stack: (median seconds from an attempt's submission to its decision, decisions counted).

    PostgreSQL: one pass, ``percentile_cont(0.5)`` per stack (``FILTER`` on its credentials, so a credential
    shared by two stacks counts in both). SQLite has no percentile aggregate: per stack, a count, then an
    ordered scan of the durations that reads only the middle one or two (``LIMIT``/``OFFSET``). Either way
    no list of durations reaches Python."""
    stacks = [s for s in stacks if s.credential_keys]
    if not stacks:
        return {}
    d = _decision_durations(session, context_id)
    out: dict[str, tuple[float, int]] = {}
    if session.get_bind().dialect.name == "postgresql":
        roomy(session)
        columns: list[Any] = []
        for stack in stacks:
            mine = d.c.credential_key.in_(stack.credential_keys) & d.c.seconds.is_not(None)
            columns += [
                func.percentile_cont(0.5).within_group(d.c.seconds).filter(mine),
                func.count().filter(mine),
            ]
        row = session.execute(select(*columns).select_from(d)).one()
        for i, stack in enumerate(stacks):
            median, n = row[2 * i], int(row[2 * i + 1] or 0)
            if n:
                out[stack.key] = (float(median), n)
        return out
    for stack in stacks:
        mine = (d.c.credential_key.in_(stack.credential_keys), d.c.seconds.is_not(None))
        n = int(session.scalar(select(func.count()).select_from(d).where(*mine)) or 0)
        if not n:
            continue
        middle = session.scalars(
            select(d.c.seconds).where(*mine).order_by(d.c.seconds).offset((n - 1) // 2).limit(2 - n % 2)
        ).all()
        out[stack.key] = (sum(float(v) for v in middle) / len(middle), n)
    return out


def roomy(session: Session) -> None:
    """PostgreSQL, for this transaction (a no-op on SQLite): hash and sort a course's rows in memory rather
    than in batches on disk (the default 4 MB), and skip JIT compilation, which costs more than these
    queries take to run."""
    if session.get_bind().dialect.name != "postgresql":
        return
    session.execute(text("SET LOCAL work_mem = '64MB'"))
    session.execute(text("SET LOCAL jit = off"))


def weekly_earned(session: Session, context_id: int, keys: Sequence[str]) -> list[tuple[date, int]]:
    """Credentials earned per week (weeks start on Monday, UTC), oldest first; weeks with none are absent.
    A revoked credential is no longer earned and is not counted."""
    if not keys:
        return []
    if session.get_bind().dialect.name == "postgresql":
        week: Any = cast(func.date_trunc("week", func.timezone("UTC", Submission.earned_at)), Date)
    else:
        # The Monday on or before the day: forward to the week's Sunday, then back six days.
        week = func.date(Submission.earned_at, "weekday 0", "-6 days")
    query = (
        select(week.label("week"), func.count())
        .where(
            Submission.context_id == context_id,
            Submission.state == "earned",
            Submission.credential_key.in_(keys),
            Submission.earned_at.is_not(None),
        )
        .group_by(week)
        .order_by(week)
    )
    out = []
    for value, n in session.execute(query):
        day = value if isinstance(value, date) else date.fromisoformat(str(value))
        out.append((day, int(n)))
    return out


class LearnerIdentity(NamedTuple):
    user_id: int
    name: str
    email: str
    sub: str


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _learners(context_id: int, search: str) -> Select[int, str, str, str]:
    query = (
        select(User.id, User.name, User.email, User.sub)
        .join(Membership, Membership.user_id == User.id)
        .where(Membership.context_id == context_id, _is_learner(context_id))
    )
    if search:
        pattern = f"%{_escape_like(search.lower())}%"
        query = query.where(
            or_(
                func.lower(User.name).like(pattern, escape="\\"),
                func.lower(User.email).like(pattern, escape="\\"),
            )
        )
    return query


def learner_page(
    session: Session, context_id: int, search: str, offset: int, limit: int
) -> tuple[int, list[LearnerIdentity]]:
    """(learners matching ``search`` in name or e-mail, one page of them by name)."""
    base = _learners(context_id, search)
    total = int(session.scalar(select(func.count()).select_from(base.subquery())) or 0)
    rows = session.execute(base.order_by(func.lower(User.name), User.id).offset(offset).limit(limit))
    return total, [LearnerIdentity(int(u), n or "", e or "", s) for u, n, e, s in rows]


def learner_states(
    session: Session, context_id: int, user_ids: Sequence[int], keys: Sequence[str]
) -> list[tuple[int, str, str]]:
    """(learner, credential, state) of the given learners' evidence for ``keys``."""
    if not user_ids or not keys:
        return []
    query = select(Submission.user_id, Submission.credential_key, Submission.state).where(
        Submission.context_id == context_id,
        Submission.user_id.in_(user_ids),
        Submission.credential_key.in_(keys),
    )
    return [(int(u), str(k), str(s)) for u, k, s in session.execute(query)]


def learner_grants(
    session: Session, context_id: int, user_ids: Sequence[int], course_key: str
) -> list[tuple[int, str, str, Decimal]]:
    """(learner, kind, target, CEUs) of the given learners' live grants under the course's map."""
    if not user_ids:
        return []
    query = select(Grant.user_id, Grant.kind, Grant.target_key, Grant.ceus).where(
        Grant.context_id == context_id,
        Grant.user_id.in_(user_ids),
        Grant.course_key == course_key,
        Grant.revoked_at.is_(None),
    )
    return [(int(u), str(k), str(t), Decimal(c)) for u, k, t, c in session.execute(query)]


class ProgressRow(NamedTuple):
    user_id: int
    name: str
    email: str
    sub: str
    ceus: Any  # Decimal, or None without grants
    credential_key: str | None  # None: no evidence (one row for the learner)
    state: str | None


def progress_rows(
    session: Session, context_id: int, keys: Sequence[str], course_key: str, batch: int = 1000
) -> Iterator[ProgressRow]:
    """Every learner's evidence for ``keys``, one row per (learner, credential) and one row for a learner
    without any, ordered by learner (name, then id) so that a reader groups consecutive rows. Streamed:
    ``yield_per`` reads through a server-side cursor on PostgreSQL and in batches on SQLite."""
    learners = _learners(context_id, "").subquery()
    ceus = (
        select(Grant.user_id.label("user_id"), func.sum(Grant.ceus).label("ceus"))
        .where(Grant.context_id == context_id, Grant.course_key == course_key, Grant.revoked_at.is_(None))
        .group_by(Grant.user_id)
        .subquery()
    )
    query = (
        select(
            learners.c.id,
            learners.c.name,
            learners.c.email,
            learners.c.sub,
            ceus.c.ceus,
            Submission.credential_key,
            Submission.state,
        )
        .select_from(learners)
        .outerjoin(ceus, ceus.c.user_id == learners.c.id)
        .outerjoin(
            Submission,
            and_(
                Submission.context_id == context_id,
                Submission.user_id == learners.c.id,
                Submission.credential_key.in_(list(keys) or [""]),
            ),
        )
        .order_by(func.lower(learners.c.name), learners.c.id)
        .execution_options(yield_per=batch)
    )
    for row in session.execute(query):
        yield ProgressRow(int(row[0]), row[1] or "", row[2] or "", row[3], row[4], row[5], row[6])

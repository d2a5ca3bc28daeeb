"""The designer's reports on a course: where learners stand in each stack (a funnel), how long assessors
take to decide, credentials earned per week, one page of learners with their standing per stack, and the
progress table as a streamed CSV.

Counts come from GROUP BY queries (db/report_queries.py), so a course of 50,000 learners costs the same
few statements as one of fifty. Standing is judged against the course map the course follows now (its
live version): a learner judged by an older version for a stack (services/learner_maps.py) may see a
different count on their own page until they are moved on.
"""

from __future__ import annotations

import csv
import io
import itertools
import threading
import time
from collections import Counter, OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from ..db import Database
from ..db import report_queries as q
from ..domain.completion import progress
from ..domain.definitions import CourseMap, Credential, Stack
from ..records.rosters import safe_cell
from .scope import context_course

PER_PAGE = 50
MAX_WEEKS = 52  # the chart's weeks; the running total counts the earlier ones too


@dataclass(frozen=True)
class StackFunnel:
    stack: Stack
    unit_titles: tuple[str, ...]
    learners: int
    drafting: int
    not_yet: int
    waiting: int
    complete: int
    granted: int  # learners whose CEUs for the stack are granted
    ceus: float
    median_seconds: float | None
    decisions: int

    @property
    def not_started(self) -> int:
        return self.learners - self.drafting - self.not_yet - self.waiting - self.complete


@dataclass(frozen=True)
class CredentialFunnel:
    credential: Credential
    learners: int
    counts: dict[str, int]

    @property
    def not_started(self) -> int:
        return self.learners - sum(self.counts.values())

    def count(self, state: str) -> int:
        return self.counts.get(state, 0)


@dataclass(frozen=True)
class WeekPoint:
    week: date  # its Monday
    earned: int
    total: int  # earned up to the end of this week


@dataclass(frozen=True)
class CourseReport:
    course: CourseMap
    learners: int
    stacks: list[StackFunnel]
    credentials: dict[str, CredentialFunnel]
    weeks: list[WeekPoint]
    awaiting_review: int
    ceus_granted: float
    awards: int
    computed_at: datetime  # when the counts were taken (a large, busy course's may be a minute old)


def stack_specs(course: CourseMap) -> list[q.StackSpec]:
    specs = []
    for stack in course.stacks:
        ordered = stack.credential_ids
        required = tuple(c for c in ordered if c in stack.rule.required)
        electives = tuple(c for c in ordered if c in stack.rule.electives and c not in stack.rule.required)
        specs.append(q.StackSpec(stack.id, required, electives, stack.rule.choose))
    return specs


def _weeks(rows: list[tuple[date, int]]) -> list[WeekPoint]:
    """Every week from the first earned credential to the last (empty weeks too), capped to the last
    ``MAX_WEEKS``, with the running total."""
    if not rows:
        return []
    by_week = dict(rows)
    first, last = rows[0][0], rows[-1][0]
    points, total, week = [], 0, first
    while week <= last:
        total += by_week.get(week, 0)
        points.append(WeekPoint(week, by_week.get(week, 0), total))
        week = date.fromordinal(week.toordinal() + 7)
    return points[-MAX_WEEKS:]


@dataclass(frozen=True)
class _Aggregates:
    """The parts of a report that read every row of the course's evidence."""

    by_credential: dict[str, dict[str, int]]
    funnel: dict[str, dict[str, int]]
    grants: dict[tuple[str, str], q.GrantTotals]
    medians: dict[str, tuple[float, int]]
    weeks: list[tuple[date, int]]
    computed_at: datetime


# The last aggregates computed per (database, course) in this process: (fingerprint, monotonic time,
# aggregates).
_cache: OrderedDict[tuple[str, int], tuple[tuple[Any, ...], float, _Aggregates]] = OrderedDict()
_cache_lock = threading.Lock()
CACHED_COURSES = 64
LARGE_COURSE = 5_000  # learners from which a report may be served up to ``max_age_seconds`` old


def _aggregates(session: Session, context_id: int, course: CourseMap) -> _Aggregates:
    keys = [c.id for c in course.credentials]
    q.roomy(session)
    by_credential: dict[str, dict[str, int]] = {k: {} for k in keys}
    for key, state, n in q.credential_state_counts(session, context_id, keys):
        by_credential[key][state] = n
    return _Aggregates(
        by_credential=by_credential,
        funnel=q.stack_funnel(session, context_id, stack_specs(course)),
        grants=q.grant_totals(session, context_id, course.id),
        medians=q.median_decision_seconds(session, context_id, stack_specs(course)),
        weeks=q.weekly_earned(session, context_id, keys),
        computed_at=datetime.now(UTC),
    )


def course_report(db: Database, context_id: int, *, max_age_seconds: float = 0.0) -> CourseReport:
    """The funnel, decision times and weekly series of a course bound to a map (``CourseNotConfigured``
    otherwise).

    The aggregates read every row of the course's evidence (about a second for 50,000 learners), so the
    last ones computed are kept per course in this process and reused while the course's fingerprint (its
    latest evidence change and grant, two index probes) is unchanged: a report is exact. A course of at
    least ``LARGE_COURSE`` learners that keeps changing is recomputed at most every ``max_age_seconds``
    (the page says as of when); smaller courses always see the current counts."""
    with db.read() as session:
        _, course, version_id = context_course(session, context_id)
        learners = q.learner_count(session, context_id)
        fingerprint = (version_id, *q.report_fingerprint(session, context_id))
        now = time.monotonic()
        key = (db.url, context_id)
        with _cache_lock:
            cached = _cache.get(key)
        fresh = cached is not None and (
            cached[0] == fingerprint
            or (learners >= LARGE_COURSE and cached[0][0] == version_id and now - cached[1] < max_age_seconds)
        )
        if cached is not None and fresh:
            aggregates = cached[2]
        else:
            aggregates = _aggregates(session, context_id, course)
            with _cache_lock:
                _cache[key] = (fingerprint, now, aggregates)
                _cache.move_to_end(key)
                while len(_cache) > CACHED_COURSES:
                    _cache.popitem(last=False)
    return _report(course, learners, aggregates)


def _report(course: CourseMap, learners: int, a: _Aggregates) -> CourseReport:
    stacks = []
    for stack in course.stacks:
        buckets = a.funnel.get(stack.id, {})
        granted = a.grants.get(("stack", stack.id), q.GrantTotals(0, 0.0))
        median, decisions = a.medians.get(stack.id, (None, 0))
        stacks.append(
            StackFunnel(
                stack=stack,
                unit_titles=tuple(u.title for u in course.units if u.stack_id == stack.id),
                learners=learners,
                drafting=buckets.get("drafting", 0),
                not_yet=buckets.get("not_yet", 0),
                waiting=buckets.get("waiting", 0),
                complete=buckets.get("complete", 0),
                granted=granted.learners,
                ceus=granted.ceus,
                median_seconds=median,
                decisions=decisions,
            )
        )
    return CourseReport(
        course=course,
        learners=learners,
        stacks=stacks,
        credentials={c.id: CredentialFunnel(c, learners, a.by_credential[c.id]) for c in course.credentials},
        weeks=_weeks(a.weeks),
        awaiting_review=sum(c.get("submitted", 0) for c in a.by_credential.values()),
        ceus_granted=sum(g.ceus for g in a.grants.values()),
        awards=sum(g.learners for (kind, _), g in a.grants.items() if kind == "course_award"),
        computed_at=a.computed_at,
    )


def duration_text(seconds: float | None) -> str:
    """A decision time as people say it: "40 minutes", "5 hours", "2 days 3 hours"."""
    if seconds is None:
        return "no decisions yet"
    minutes = int(seconds // 60)
    if minutes < 60:
        return f"{max(minutes, 1)} minute{'s' if minutes != 1 else ''}"
    hours = minutes // 60
    if hours < 48:
        return f"{hours} hour{'s' if hours != 1 else ''}"
    days, rest = divmod(hours, 24)
    return f"{days} days" + (f" {rest} hour{'s' if rest != 1 else ''}" if rest else "")


# --- learners, one page at a time -----------------------------------------------------------------------


@dataclass(frozen=True)
class StackStanding:
    stack_id: str
    title: str
    earned: int  # that count towards the rule
    needed: int
    waiting: int
    not_yet: int
    drafting: int
    granted: bool

    @property
    def complete(self) -> bool:
        return self.earned >= self.needed

    @property
    def text(self) -> str:
        """ "3/5, waiting 1" """
        parts = [f"{self.earned}/{self.needed}"]
        if self.waiting:
            parts.append(f"waiting {self.waiting}")
        if self.not_yet:
            parts.append(f"not yet {self.not_yet}")
        if self.drafting:
            parts.append(f"drafting {self.drafting}")
        return ", ".join(parts)


@dataclass(frozen=True)
class LearnerStanding:
    user_id: int
    name: str
    email: str
    stacks: list[StackStanding]
    counts: Counter[str] = field(default_factory=Counter)
    ceus: Decimal = Decimal(0)

    @property
    def stacks_complete(self) -> int:
        return sum(s.complete for s in self.stacks)


@dataclass(frozen=True)
class LearnerList:
    course: CourseMap
    context_title: str
    rows: list[LearnerStanding]
    total: int
    page: int
    per_page: int
    search: str

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def _display_name(name: str, sub: str) -> str:
    return name or f"Learner {sub}"


def standing(course: CourseMap, states: dict[str, str], granted: set[str]) -> list[StackStanding]:
    """Where one learner stands in each stack, from their credentials' states and granted stacks."""
    earned = {k for k, s in states.items() if s == "earned"}
    out = []
    for stack in course.stacks:
        done, needed = progress(stack, earned)
        mine = Counter(states[c] for c in stack.credential_ids if c in states)
        out.append(
            StackStanding(
                stack.id,
                stack.title,
                done,
                needed,
                mine["submitted"],
                mine["not_yet"],
                mine["draft"],
                stack.id in granted,
            )
        )
    return out


def learner_list(
    db: Database, context_id: int, search: str = "", page: int = 1, per_page: int = PER_PAGE
) -> LearnerList:
    """One page of the course's learners by name (``search``: part of a name or e-mail), with their standing
    in each stack of the live map."""
    search = search.strip()[:100]
    page = max(1, page)
    with db.read() as session:
        context, course, _ = context_course(session, context_id)
        keys = [c.id for c in course.credentials]
        total, people = q.learner_page(session, context_id, search, (page - 1) * per_page, per_page)
        ids = [p.user_id for p in people]
        states: dict[int, dict[str, str]] = {i: {} for i in ids}
        for user_id, key, state in q.learner_states(session, context_id, ids, keys):
            states[user_id][key] = state
        granted: dict[int, set[str]] = {i: set() for i in ids}
        ceus: dict[int, Decimal] = {i: Decimal(0) for i in ids}
        for user_id, kind, target, amount in q.learner_grants(
            session, context_id, ids, context.course_key or ""
        ):
            ceus[user_id] += Decimal(str(amount))
            if kind == "stack":
                granted[user_id].add(target)
    rows = [
        LearnerStanding(
            p.user_id,
            _display_name(p.name, p.sub),
            p.email,
            standing(course, states[p.user_id], granted[p.user_id]),
            Counter(states[p.user_id].values()),
            ceus[p.user_id],
        )
        for p in people
    ]
    return LearnerList(course, context.title, rows, total, page, per_page, search)


# --- the progress table as CSV, streamed ------------------------------------------------------------------

FLUSH_BYTES = 64 * 1024


def progress_csv_header(course: CourseMap) -> list[str]:
    per_stack = [f"{s.id} {part}" for s in course.stacks for part in ("earned", "needed")]
    return ["name", "email", *per_stack, *q.STATES, "ceus_granted"]


def progress_csv(db: Database, context_id: int) -> Iterator[str]:
    """The progress table, one row per learner, as CSV text in chunks of about 64 KB. The course is checked
    now (``CourseNotConfigured``, ``NotFound``), before any byte is sent; the rows are read as the returned
    generator is consumed (``yield_per``), so memory stays flat for any course size. Every cell is
    formula-safe (``records.rosters.safe_cell``)."""
    with db.read() as session:
        context_course(session, context_id)
    return _progress_csv(db, context_id)


def _progress_csv(db: Database, context_id: int) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    with db.read() as session:
        context, course, _ = context_course(session, context_id)
        keys = [c.id for c in course.credentials]
        writer.writerow(progress_csv_header(course))
        rows = q.progress_rows(session, context_id, keys, context.course_key or "")
        for _, group in itertools.groupby(rows, key=lambda r: r.user_id):
            first = next(group)
            states = {r.credential_key: r.state for r in itertools.chain([first], group) if r.credential_key}
            earned = {k for k, s in states.items() if s == "earned"}
            counts = Counter(s for s in states.values() if s)
            cells: list[object] = [_display_name(first.name, first.sub), first.email]
            for stack in course.stacks:
                cells.extend(progress(stack, earned))
            cells.extend(counts.get(state, 0) for state in q.STATES)
            cells.append(first.ceus if first.ceus is not None else Decimal("0.0"))
            writer.writerow([safe_cell(c) for c in cells])
            if buffer.tell() >= FLUSH_BYTES:
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
    yield buffer.getvalue()

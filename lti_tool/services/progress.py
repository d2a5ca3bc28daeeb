"""What a learner sees on landing, what a course designer sees for the whole course, and binding a course
to the course map it follows."""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import Connection, update

from ..db import Database, report_queries
from ..db.learner_standing import GrantRow, LearnerStanding, VersionRef, learner_standing
from ..db.models import Context, Course
from ..domain.completion import progress
from ..domain.definitions import CourseMap, Credential, Stack
from ..domain.learner_map import as_started
from ..domain.submissions import SubmissionState
from . import audit
from .course_report import CourseReport, course_report, learner_list
from .errors import Conflict, CourseNotConfigured, NotFound
from .learner_maps import started_under
from .map_versions import course_map_of

LEARNER = "learner"  # Membership.roles holds the tool's roles, from launches and the roster alike


@dataclass(frozen=True)
class CredentialStatus:
    credential: Credential
    state: SubmissionState | None  # None: not started
    attempt: int


@dataclass(frozen=True)
class StackProgress:
    stack: Stack
    unit_titles: tuple[str, ...]
    credentials: list[CredentialStatus]
    earned: int
    needed: int
    grant: GrantRow | None

    @property
    def complete(self) -> bool:
        return self.earned >= self.needed


@dataclass(frozen=True)
class LearnerOverview:
    course: CourseMap
    stacks: list[StackProgress]
    award: GrantRow | None
    total_ceus: Decimal
    total_hours: Decimal


@dataclass(frozen=True)
class _StackLayout:
    stack: Stack
    unit_titles: tuple[str, ...]
    # Each of its credentials, in the stack's order, as a learner who has not started it sees it.
    not_started: tuple[CredentialStatus, ...]


@dataclass(frozen=True)
class _CourseLayout:
    """The course as the learners whose stacks were started under the same map versions see it: the
    same for all of them, so it holds nothing of any one learner."""

    course: CourseMap
    stacks: tuple[_StackLayout, ...]


# Layouts by the map versions they are made of: the live version's and those of the stacks started under
# another one (versions never change). Most learners of a course share one or a few; bounded all the same.
_LAYOUTS: dict[tuple[VersionRef, tuple[tuple[str, VersionRef], ...]], _CourseLayout] = {}
_LAYOUTS_MAX = 512
_LAYOUTS_LOCK = threading.Lock()


def _configured(standing: LearnerStanding | None) -> tuple[LearnerStanding, VersionRef]:
    """The standing and its course's live version; refused when the context or its map is missing."""
    if standing is None:
        raise NotFound("unknown_context", "This course is not known to the tool.")
    if standing.course_key is None or standing.live is None:
        raise CourseNotConfigured()
    return standing, standing.live


def _read_layout(db: Database, live: VersionRef, recorded: dict[str, VersionRef]) -> _CourseLayout:
    # Map documents only, each in a snapshot of its own: a version never changes.
    with db.read_one_statement() as conn:
        return _layout(conn, live, recorded)


def _layout_key(
    live_ref: VersionRef, recorded: dict[str, VersionRef]
) -> tuple[VersionRef, tuple[tuple[str, VersionRef], ...]]:
    older = tuple(sorted((k, ref) for k, ref in recorded.items() if ref.version_id != live_ref.version_id))
    return live_ref, older


def _layout(conn: Connection, live_ref: VersionRef, recorded: dict[str, VersionRef]) -> _CourseLayout:
    """The learner's course (``as_started``) laid out for their progress page."""
    key = _layout_key(live_ref, recorded)
    older = key[1]
    found = _LAYOUTS.get(key)
    if found is not None:
        return found
    live = course_map_of(conn, live_ref.version_id, live_ref.course_key, live_ref.content_hash)
    # Each stack the learner started is judged by the map version they started it under
    # (services.learner_maps, as the evidence pages do).
    refs = {ref.version_id: ref for _, ref in older}
    started = started_under(
        live_ref.version_id,
        {stack_key: ref.version_id for stack_key, ref in older},
        lambda v: course_map_of(conn, v, refs[v].course_key, refs[v].content_hash),
    )
    course = as_started(live, started)
    found = _CourseLayout(
        course,
        tuple(
            _StackLayout(
                stack,
                tuple(u.title for u in course.units if u.stack_id == stack.id),
                tuple(CredentialStatus(course.credential(cid), None, 0) for cid in stack.credential_ids),
            )
            for stack in course.stacks
        ),
    )
    with _LAYOUTS_LOCK:  # threads of one worker share it: no iteration while another inserts
        if len(_LAYOUTS) >= _LAYOUTS_MAX:
            _LAYOUTS.pop(next(iter(_LAYOUTS), key), None)  # the oldest
        _LAYOUTS[key] = found
    return found


def learner_overview(
    db: Database, context_id: int, user_id: int, standing: LearnerStanding | None = None
) -> LearnerOverview:
    """What the learner's progress page shows. Its reads are one statement (``db.learner_standing``), run
    without a transaction around it (one statement is one snapshot): on PostgreSQL one round trip, which
    a launch that answers with this page waits for too. What depends on the map versions only (the
    course as the learner started it, each stack's credentials) is built once per set of versions.

    ``standing``: the learner's standing in this context as a statement of the caller's read it (a
    launch's, ``lti.launch_statement``); the page then reads nothing more unless a map version is new to
    this process."""
    if standing is None:
        with db.read_one_statement() as conn:
            standing, live = _configured(learner_standing(conn, context_id, user_id))
            layout = _layout(conn, live, standing.recorded)
    else:
        standing, live = _configured(standing)
        layout = _LAYOUTS.get(_layout_key(live, standing.recorded)) or _read_layout(
            db, live, standing.recorded
        )
    # Evidence belongs to a credential id in this course (a map sharing the id sees it too, as the evidence
    # pages do); grants belong to the map they were granted under: after the designer changes the map they
    # stay recorded, and count for that map, not for the one the course follows now.
    subs = standing.submissions
    grants = standing.grants
    earned = {k for k, s in subs.items() if s.state == SubmissionState.EARNED.value}
    stack_grants = {g.target_key: g for g in grants if g.kind == "stack"}
    award = next((g for g in grants if g.kind == "course_award"), None)
    stacks = []
    for laid in layout.stacks:
        stack = laid.stack
        done, needed = progress(stack, earned)
        if subs:
            credentials = [
                status
                if (sub := subs.get(status.credential.id)) is None
                else CredentialStatus(status.credential, SubmissionState(sub.state), sub.attempt)
                for status in laid.not_started
            ]
        else:
            credentials = list(laid.not_started)
        stacks.append(
            StackProgress(
                stack=stack,
                unit_titles=laid.unit_titles,
                credentials=credentials,
                earned=done,
                needed=needed,
                grant=stack_grants.get(stack.id),
            )
        )
    return LearnerOverview(
        course=layout.course,
        stacks=stacks,
        award=award,
        total_ceus=sum((g.ceus for g in grants), Decimal(0)),
        total_hours=sum((g.contact_hours for g in grants), Decimal(0)),
    )


@dataclass
class LearnerRow:
    user_id: int
    name: str
    email: str
    counts: Counter[str] = field(default_factory=Counter)
    stacks_complete: int = 0
    ceus: Decimal = Decimal(0)

    total_stacks: int = 0

    @property
    def status(self) -> str:
        if not self.counts:
            return "not_started"
        if self.total_stacks and self.stacks_complete >= self.total_stacks:
            return "complete"
        return "in_progress"


DASHBOARD_LEARNERS = 20  # the dashboard shows the first learners; the learner list pages through all


@dataclass(frozen=True)
class CourseDashboard:
    context_title: str
    course: CourseMap | None
    learners: list[LearnerRow]  # the first DASHBOARD_LEARNERS by name
    per_credential: dict[str, Counter[str]]
    awaiting_review: int
    learner_total: int = 0
    report: CourseReport | None = None  # the funnel, decision times and weekly series (bound courses)


def course_dashboard(
    db: Database, context_id: int, *, report_max_age_seconds: float = 0.0
) -> CourseDashboard:
    """The course's learners (from launches and the NRPS roster) counted where they stand, and the first of
    them by name. Counts are GROUP BY queries (services/course_report.py): the page costs the same for
    fifty learners or fifty thousand. Progress is against the bound map only (see learner_overview):
    evidence for credentials it does not have, and grants made under an earlier map, stay recorded and
    are not counted for this one."""
    with db.read() as session:
        context = session.get(Context, context_id)
        if context is None:
            raise NotFound("unknown_context", "This course is not known to the tool.")
        title, bound = context.title, context.course_key
    if bound is None:
        with db.read() as session:
            total, people = report_queries.learner_page(session, context_id, "", 0, DASHBOARD_LEARNERS)
        rows = [LearnerRow(p.user_id, p.name or f"Learner {p.sub}", p.email) for p in people]
        return CourseDashboard(title, None, rows, {}, 0, learner_total=total)
    report = course_report(db, context_id, max_age_seconds=report_max_age_seconds)
    page = learner_list(db, context_id, per_page=DASHBOARD_LEARNERS)
    stacks = len(report.course.stacks)
    rows = [
        LearnerRow(
            r.user_id,
            r.name,
            r.email,
            r.counts,
            stacks_complete=sum(s.granted for s in r.stacks),
            ceus=r.ceus,
            total_stacks=stacks,
        )
        for r in page.rows
    ]
    per_credential = {k: Counter(c.counts) for k, c in report.credentials.items() if c.counts}
    return CourseDashboard(
        title,
        report.course,
        rows,
        per_credential,
        report.awaiting_review,
        learner_total=page.total,
        report=report,
    )


class _AnyBinding:
    """The default of ``bind_course(expected=...)``: bind whatever the course follows now."""


ANY_BINDING = _AnyBinding()


@dataclass(frozen=True)
class BindResult:
    previous: str | None
    course_key: str
    changed: bool


def bind_course(
    db: Database,
    context_id: int,
    course_key: str,
    actor_user_id: int,
    *,
    expected: str | None | _AnyBinding = ANY_BINDING,
) -> BindResult:
    """A course designer links their LMS course to a loaded course map (audited).

    ``expected`` is the binding the designer saw when deciding (``None``: the course was not bound yet):
    when the course has been bound to something else since, nothing changes and ``Conflict`` says so, so
    two designers (or a picker and a dashboard) never overwrite each other's choice unseen. The check and
    the write are one conditional UPDATE. Binding also clears the placement-disagreement warning: the
    designer has decided.
    """
    with db.transaction() as session:
        context = session.get(Context, context_id)
        if context is None:
            raise NotFound("unknown_context", "This course is not known to the tool.")
        if session.get(Course, course_key) is None:
            raise NotFound("unknown_course_map", f"No course map {course_key!r} is loaded.")
        previous = context.course_key
        if not isinstance(expected, _AnyBinding) and previous != expected:
            raise _rebound(previous)
        if previous == course_key and context.disagreeing_course_map is None:
            return BindResult(previous, course_key, changed=False)
        guard = Context.id == context_id
        if previous is None:
            guard = guard & Context.course_key.is_(None)
        else:
            guard = guard & (Context.course_key == previous)
        updated = session.execute(
            update(Context)
            .where(guard)
            .values(course_key=course_key, disagreeing_course_map=None, disagreeing_course_map_at=None)
            .execution_options(synchronize_session=False)
        )
        if updated.rowcount != 1:  # type: ignore[attr-defined]
            session.expire(context)  # reload: another transaction bound it between our read and write
            raise _rebound(context.course_key)
        if previous != course_key:
            audit.record(
                session,
                action="context.course_map_bound",
                subject_type="context",
                subject_id=context_id,
                actor_user_id=actor_user_id,
                context_id=context_id,
                data={"course_map": course_key, "previous": previous},
            )
    return BindResult(previous, course_key, changed=previous != course_key)


def _rebound(current: str | None) -> Conflict:
    now = f"the course map {current!r}" if current else "no course map"
    return Conflict(
        "course_map_changed",
        f"Meanwhile someone else changed this course's course map: it now follows {now}. "
        "Nothing was changed; look again and choose.",
    )


def dismiss_course_map_warning(db: Database, context_id: int, actor_user_id: int) -> None:
    """The designer keeps the course's map although a placement asks for another one (audited)."""
    with db.transaction() as session:
        context = session.get(Context, context_id)
        if context is None:
            raise NotFound("unknown_context", "This course is not known to the tool.")
        if context.disagreeing_course_map is None:
            return
        audit.record(
            session,
            action="context.course_map_warning_dismissed",
            subject_type="context",
            subject_id=context_id,
            actor_user_id=actor_user_id,
            context_id=context_id,
            data={"course_map": context.course_key, "placement_asked_for": context.disagreeing_course_map},
        )
        context.disagreeing_course_map = None
        context.disagreeing_course_map_at = None

"""The assessor's review queue: a course's submitted evidence, oldest first, one page at a time, filtered
by stack, credential, how long it has waited and who holds it (review claims).

Every filter is a condition of one SQL statement over ``submissions`` (index ``ix_submissions_queue``:
course, state, submitted_at), so a page costs the same at 50,000 learners as at 50; the claims and
reviews shown beside the page's rows are read for those rows only.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum
from math import ceil

from sqlalchemy import ColumnElement, and_, exists, func, select
from sqlalchemy.orm import Session

from ..db import Database
from ..db.base import utcnow
from ..db.models import Assessment, ReviewClaim, Submission, User
from ..domain.definitions import CourseMap
from ..domain.submissions import SubmissionState
from .errors import ServiceError
from .scope import context_course

PAGE_SIZE = 50
MAX_WAIT_HOURS = 24 * 3650


class ClaimFilter(StrEnum):
    ANY = ""
    UNCLAIMED = "unclaimed"
    MINE = "mine"
    OTHERS = "others"


@dataclass(frozen=True)
class QueueFilters:
    stack: str = ""
    credential: str = ""
    waited_hours: int | None = None  # waiting longer than this many hours
    claim: ClaimFilter = ClaimFilter.ANY
    page: int = 1

    def args(self, **changes: object) -> dict[str, str]:
        """The filters as query arguments (for links to other pages of the same selection)."""
        chosen = replace(self, **changes)  # type: ignore[arg-type]
        values = {
            "stack": chosen.stack,
            "credential": chosen.credential,
            "waited": str(chosen.waited_hours) if chosen.waited_hours else "",
            "claim": chosen.claim.value,
            "page": str(chosen.page) if chosen.page > 1 else "",
        }
        return {k: v for k, v in values.items() if v}


@dataclass(frozen=True)
class Holder:
    assessor_id: int
    name: str
    claimed_at: datetime


@dataclass(frozen=True)
class QueueRow:
    submission_id: int
    user_id: int
    learner_name: str
    credential_key: str
    credential_title: str
    stack_titles: list[str]
    attempt: int
    submitted_at: datetime | None
    waited: str  # "3 days"
    holders: list[Holder] = field(default_factory=list)
    reviews: int = 0  # reviews of this attempt so far (a panel's)
    reviewed_by_me: bool = False


@dataclass(frozen=True)
class QueuePage:
    rows: list[QueueRow]
    total: int
    filters: QueueFilters
    course: CourseMap
    assessor_id: int  # who is looking: "you" among the holders

    @property
    def pages(self) -> int:
        return max(1, ceil(self.total / PAGE_SIZE))


def waited_text(since: datetime | None, now: datetime) -> str:
    """How long something has waited, in the largest whole unit: "40 minutes", "5 hours", "3 days"."""
    if since is None:
        return ""
    seconds = max(0, int((now - since).total_seconds()))
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            n = seconds // size
            return f"{n} {unit}{'' if n == 1 else 's'}"
    return "less than a minute"


def filters_from(args: Mapping[str, str]) -> QueueFilters:
    """The queue's filters from a query string: ``stack``, ``credential``, ``waited`` (a number) with
    ``unit`` (hours or days, default days), ``claim`` and ``page``. Anything unreadable is refused."""
    waited_hours = None
    raw = (args.get("waited") or "").strip()
    if raw:
        unit = args.get("unit") or "days"
        if not raw.isdigit() or len(raw) > 6:
            raise ServiceError("bad_filter", "Waiting longer than: give a whole number.", field="waited")
        if unit not in ("hours", "days"):
            raise ServiceError("bad_filter", "Waiting longer than: hours or days.", field="unit")
        waited_hours = int(raw) * (24 if unit == "days" else 1)
        if waited_hours > MAX_WAIT_HOURS:
            raise ServiceError("bad_filter", "Waiting longer than: at most ten years.", field="waited")
    try:
        claim = ClaimFilter(args.get("claim") or "")
    except ValueError:
        raise ServiceError("bad_filter", "Claim: unclaimed, mine or others.", field="claim") from None
    page_raw = args.get("page") or "1"
    if not page_raw.isdigit() or len(page_raw) > 6 or int(page_raw) < 1:
        raise ServiceError("bad_filter", "No such page.", field="page")
    return QueueFilters(
        stack=(args.get("stack") or "").strip(),
        credential=(args.get("credential") or "").strip(),
        waited_hours=waited_hours or None,
        claim=claim,
        page=int(page_raw),
    )


def _active_claim(now: datetime) -> ColumnElement[bool]:
    """A claim on the submission's row that still holds: not released, not expired."""
    return and_(
        ReviewClaim.submission_id == Submission.id,
        ReviewClaim.released_at.is_(None),
        ReviewClaim.expires_at > now,
    )


def _conditions(
    course: CourseMap, context_id: int, assessor_id: int, filters: QueueFilters, now: datetime
) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = [
        Submission.context_id == context_id,
        Submission.state == SubmissionState.SUBMITTED.value,
    ]
    keys: set[str] | None = None
    if filters.stack:
        stack = next((s for s in course.stacks if s.id == filters.stack), None)
        if stack is None:
            raise ServiceError("bad_filter", f"No stack {filters.stack!r} in this course.", field="stack")
        keys = set(stack.credential_ids)
    if filters.credential:
        keys = {filters.credential} if keys is None else keys & {filters.credential}
    if keys is not None:
        conditions.append(Submission.credential_key.in_(sorted(keys)))
    if filters.waited_hours:
        conditions.append(Submission.submitted_at <= now - timedelta(hours=filters.waited_hours))
    active = _active_claim(now)
    if filters.claim is ClaimFilter.UNCLAIMED:
        conditions.append(~exists().where(active))
    elif filters.claim is ClaimFilter.MINE:
        conditions.append(exists().where(active, ReviewClaim.assessor_id == assessor_id))
    elif filters.claim is ClaimFilter.OTHERS:
        conditions.append(exists().where(active, ReviewClaim.assessor_id != assessor_id))
    return conditions


def review_queue_page(
    db: Database, context_id: int, assessor_id: int, filters: QueueFilters | None = None
) -> QueuePage:
    """One page of the course's waiting evidence, oldest first, with the filters applied in SQL."""
    filters = filters or QueueFilters()
    now = utcnow()
    with db.read() as session:
        _, course, _ = context_course(session, context_id)
        conditions = _conditions(course, context_id, assessor_id, filters, now)
        rows = session.execute(
            select(
                Submission.id,
                Submission.user_id,
                Submission.credential_key,
                Submission.attempt,
                Submission.submitted_at,
                User.name,
            )
            .join(User, User.id == Submission.user_id)
            .where(*conditions)
            .order_by(Submission.submitted_at, Submission.id)
            .limit(PAGE_SIZE)
            .offset((filters.page - 1) * PAGE_SIZE)
        ).all()
        total = session.scalar(select(func.count()).select_from(Submission).where(*conditions)) or 0
        holders, reviews = _beside(session, [(r.id, r.attempt) for r in rows], assessor_id, now)
    titles = {c.id: c.title for c in course.credentials}
    items = [
        QueueRow(
            submission_id=r.id,
            user_id=r.user_id,
            learner_name=r.name or f"Learner {r.user_id}",
            credential_key=r.credential_key,
            credential_title=titles.get(r.credential_key, r.credential_key),
            stack_titles=[s.title for s in course.stacks_containing(r.credential_key)],
            attempt=r.attempt,
            submitted_at=r.submitted_at,
            waited=waited_text(r.submitted_at, now),
            holders=holders.get(r.id, []),
            reviews=len(reviews.get(r.id, ())),
            reviewed_by_me=assessor_id in reviews.get(r.id, ()),
        )
        for r in rows
    ]
    return QueuePage(items, total, filters, course, assessor_id)


def _beside(
    session: Session, page: list[tuple[int, int]], assessor_id: int, now: datetime
) -> tuple[dict[int, list[Holder]], dict[int, set[int | None]]]:
    """Who holds each of the page's submissions (live claims, oldest first), and who has reviewed its
    current attempt."""
    holders: dict[int, list[Holder]] = defaultdict(list)
    reviews: dict[int, set[int | None]] = defaultdict(set)
    if not page:
        return holders, reviews
    ids = [sid for sid, _ in page]
    for claim, name in session.execute(
        select(ReviewClaim, User.name)
        .join(User, User.id == ReviewClaim.assessor_id)
        .where(
            ReviewClaim.submission_id.in_(ids),
            ReviewClaim.released_at.is_(None),
            ReviewClaim.expires_at > now,
        )
        .order_by(ReviewClaim.claimed_at, ReviewClaim.id)
    ):
        holders[claim.submission_id].append(
            Holder(claim.assessor_id, name or f"Assessor {claim.assessor_id}", claim.claimed_at)
        )
    attempts = dict(page)
    for sid, attempt, reviewer in session.execute(
        select(Assessment.submission_id, Assessment.attempt, Assessment.assessor_id).where(
            Assessment.submission_id.in_(ids)
        )
    ):
        if attempts.get(sid) == attempt:
            reviews[sid].add(reviewer)
    return holders, reviews

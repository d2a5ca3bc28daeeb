"""Assessors score submitted evidence against the rubric: earned, or not yet with feedback. ``decide`` is an
assessor's review of the current attempt (services/reviews.py), which decides it when its panel is
complete (a panel of one: at once)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from ..db import Database
from ..db.models import Submission, User
from ..domain.submissions import SubmissionState
from . import reviews
from .errors import NotFound
from .evidence import SubmissionView, _view
from .map_versions import course_map_for_version
from .reviews import ReviewResult as DecisionResult
from .reviews import enqueue_stack_scores
from .scope import context_course

__all__ = ["DecisionResult", "QueueItem", "decide", "enqueue_stack_scores", "review_detail", "review_queue"]


@dataclass(frozen=True)
class QueueItem:
    submission_id: int
    learner_name: str
    credential_key: str
    credential_title: str
    stack_titles: list[str]
    attempt: int
    submitted_at: datetime | None


def review_queue(db: Database, context_id: int) -> list[QueueItem]:
    """Submitted evidence in this course, oldest first."""
    with db.read() as session:
        _, course, _ = context_course(session, context_id)
        rows = session.execute(
            select(Submission, User.name)
            .join(User, User.id == Submission.user_id)
            .where(Submission.context_id == context_id, Submission.state == SubmissionState.SUBMITTED.value)
            .order_by(Submission.submitted_at, Submission.id)
        ).all()
        items = []
        for sub, name in rows:
            try:
                title = course.credential(sub.credential_key).title
            except KeyError:
                title = sub.credential_key
            items.append(
                QueueItem(
                    sub.id,
                    name or f"Learner {sub.user_id}",
                    sub.credential_key,
                    title,
                    [s.title for s in course.stacks_containing(sub.credential_key)],
                    sub.attempt,
                    sub.submitted_at,
                )
            )
        return items


def review_detail(db: Database, context_id: int, submission_id: int) -> tuple[SubmissionView, str]:
    """The evidence and the learner's name, against the rubric of the version it was submitted under."""
    with db.read() as session:
        sub = session.get(Submission, submission_id)
        if sub is None or sub.context_id != context_id:
            raise NotFound("unknown_submission", "No such submission in this course.")
        course = course_map_for_version(session, sub.map_version_id)
        user = session.get(User, sub.user_id)
        return _view(session, course, course.credential(sub.credential_key), sub), (user.name if user else "")


def decide(
    db: Database, context_id: int, submission_id: int, assessor_id: int, scores: dict[str, str], feedback: str
) -> DecisionResult:
    """An assessor's review of the current attempt (``reviews.review``); one assessor's is the decision."""
    return reviews.review(db, context_id, submission_id, assessor_id, scores, feedback)

"""What an attempt's reviews look like to the people who may see them: each decided attempt with every
reviewer's feedback and scores (anonymised as "Reviewer 1", "Reviewer 2", ... in the order they reviewed),
the decision and how the panel reached it ("2 of 3 said earned").

A learner only ever sees decided attempts; an attempt a panel is still reviewing is invisible to them, and
to any assessor who has not reviewed it yet (reviews stay independent)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..db.models import Assessment, AttemptDecision
from ..domain.panels import summary


@dataclass(frozen=True)
class ReviewView:
    reviewer: str  # "Reviewer 1", ...: learners never see who reviewed
    assessor_id: int | None
    decision: str  # earned | not_yet | revoked
    feedback: str
    scores: dict[str, Any]
    reviewed_at: datetime


@dataclass(frozen=True)
class AttemptOutcome:
    """A decided attempt. ``feedback`` and ``scores`` are the single reviewer's when one person decided (the
    page then reads as it always has); a panel's page lists ``reviews``."""

    attempt: int
    decision: str  # earned | not_yet | revoked
    rule: str  # single | majority | unanimous | revocation
    decided_at: datetime
    reviews: tuple[ReviewView, ...]

    @property
    def panel(self) -> bool:
        return self.rule in ("majority", "unanimous")

    @property
    def feedback(self) -> str:
        return combined_feedback(self.reviews)

    @property
    def scores(self) -> dict[str, Any]:
        return dict(self.reviews[0].scores) if len(self.reviews) == 1 else {}

    @property
    def summary(self) -> str:
        return summary(self.decision, [r.decision for r in self.reviews], self.rule) if self.panel else ""


def combined_feedback(reviews: Sequence[ReviewView]) -> str:
    """One text for a gradebook comment: the reviewer's, or each panel reviewer's under their label."""
    if len(reviews) == 1:
        return reviews[0].feedback
    return "\n\n".join(f"{r.reviewer}: {r.feedback}" for r in reviews if r.feedback)


def reviews_of(
    session: Session, submission_id: int, attempt: int | None = None
) -> dict[int, list[ReviewView]]:
    """Each attempt's reviews (one attempt if given), in the order they came in, labelled in that order."""
    query = select(Assessment).where(Assessment.submission_id == submission_id)
    if attempt is not None:
        query = query.where(Assessment.attempt == attempt)
    by_attempt: dict[int, list[ReviewView]] = {}
    for row in session.scalars(query.order_by(Assessment.attempt, Assessment.created_at, Assessment.id)):
        reviews = by_attempt.setdefault(row.attempt, [])
        reviews.append(
            ReviewView(
                f"Reviewer {len(reviews) + 1}",
                row.assessor_id,
                row.decision,
                row.feedback,
                dict(row.scores or {}),
                row.created_at,
            )
        )
    return by_attempt


def decided_attempts(session: Session, submission_id: int) -> list[AttemptOutcome]:
    """Every decided attempt of a submission, oldest first, with its reviews."""
    reviews = reviews_of(session, submission_id)
    return [
        AttemptOutcome(d.attempt, d.decision, d.rule, d.decided_at, tuple(reviews.get(d.attempt, ())))
        for d in session.scalars(
            select(AttemptDecision)
            .where(AttemptDecision.submission_id == submission_id)
            .order_by(AttemptDecision.attempt)
        )
    ]

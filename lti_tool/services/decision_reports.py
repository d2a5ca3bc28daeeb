"""An assessor's review described for the page their form redirects to: the attempt's decision (with any CEU
grants it caused), or, on a panel still waiting for reviews, their own review and how many are in."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select

from ..db import Database
from ..db.learner_standing import GrantRow
from ..db.models import AttemptDecision, Grant
from ..domain.rubric import Decision
from ..domain.submissions import SubmissionState
from . import assessment
from .errors import NotFound
from .review_feedback import reviews_of
from .reviews import ReviewResult


@dataclass(frozen=True)
class DecisionReport:
    result: ReviewResult
    learner_name: str
    credential_title: str
    grants: list[GrantRow]


def decision_report(
    db: Database,
    context_id: int,
    submission_id: int,
    grant_ids: Iterable[int] = (),
    viewer_id: int | None = None,
) -> DecisionReport:
    """The latest decision on a submission, described for the page the assessor's form redirects to, with
    the CEU grants that decision caused (``grant_ids``: only that learner's grants in this course count)."""
    view, learner_name = assessment.review_detail(db, context_id, submission_id)
    with db.read() as session:
        current = reviews_of(session, submission_id, view.attempt).get(view.attempt, [])
        mine = next((r for r in current if viewer_id is not None and r.assessor_id == viewer_id), None)
        latest = session.scalars(
            select(AttemptDecision)
            .where(AttemptDecision.submission_id == submission_id)
            .order_by(AttemptDecision.attempt.desc())
            .limit(1)
        ).first()
        pending = view.state is SubmissionState.SUBMITTED
        if latest is None and not (pending and mine):
            raise NotFound("not_decided", "This submission has no decision yet.")
        ids = sorted(set(grant_ids))
        grants = [
            GrantRow(
                g.id,
                g.kind,
                g.target_key,
                g.title,
                g.contact_hours,
                g.ceus,
                g.map_version_id,
                g.granted_at,
            )
            for g in session.scalars(
                select(Grant)
                .where(Grant.id.in_(ids), Grant.context_id == context_id, Grant.user_id == view.user_id)
                .order_by(Grant.id)
            )
        ]
    policy = view.credential.review
    new_grants = [(g.id, g.kind, g.target_key) for g in grants]
    if pending and mine is not None:
        own = Decision(mine.decision)
        result = ReviewResult(None, own, (), [], len(current), policy.panel)
    else:
        assert latest is not None
        decision = Decision(latest.decision)
        own = Decision(mine.decision) if mine else decision
        result = ReviewResult(decision, own, (), new_grants, latest.reviews, max(latest.reviews, 1))
    return DecisionReport(result, learner_name, view.credential.title, grants)

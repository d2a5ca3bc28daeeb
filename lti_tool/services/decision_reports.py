"""An assessor's decision described for the page their form redirects to (with any CEU grants it caused)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select

from ..db import Database
from ..db.models import Assessment, Grant
from ..domain.rubric import Decision
from . import assessment
from .assessment import DecisionResult
from .errors import NotFound
from .grants import GrantView


@dataclass(frozen=True)
class DecisionReport:
    result: DecisionResult
    learner_name: str
    credential_title: str
    grants: list[GrantView]


def decision_report(
    db: Database, context_id: int, submission_id: int, grant_ids: Iterable[int] = ()
) -> DecisionReport:
    """The latest decision on a submission, described for the page the assessor's form redirects to, with
    the CEU grants that decision caused (``grant_ids``: only that learner's grants in this course count)."""
    view, learner_name = assessment.review_detail(db, context_id, submission_id)
    with db.read() as session:
        latest = session.scalars(
            select(Assessment)
            .where(Assessment.submission_id == submission_id)
            .order_by(Assessment.attempt.desc())
            .limit(1)
        ).first()
        if latest is None:
            raise NotFound("not_decided", "This submission has no decision yet.")
        ids = sorted(set(grant_ids))
        grants = [
            GrantView(
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
        decision = Decision(latest.decision)
    result = DecisionResult(decision, (), [(g.id, g.kind, g.target_key) for g in grants])
    return DecisionReport(result, learner_name, view.credential.title, grants)

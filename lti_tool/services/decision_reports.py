"""An assessor's decision, recorded and described for the page (with any CEU grants it caused)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from ..db import Database
from ..db.models import Grant
from . import assessment
from .assessment import DecisionResult
from .grants import GrantView


@dataclass(frozen=True)
class DecisionReport:
    result: DecisionResult
    learner_name: str
    credential_title: str
    grants: list[GrantView]


def decide_and_report(
    db: Database, context_id: int, submission_id: int, assessor_id: int, scores: dict[str, str], feedback: str
) -> DecisionReport:
    """Record the assessor's decision, and describe it (with any CEU grants it caused) for the page."""
    result = assessment.decide(db, context_id, submission_id, assessor_id, scores, feedback)
    view, learner_name = assessment.review_detail(db, context_id, submission_id)
    grant_ids = [gid for gid, _, _ in result.new_grants]
    grants: list[GrantView] = []
    if grant_ids:
        with db.read() as session:
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
                for g in session.scalars(select(Grant).where(Grant.id.in_(grant_ids)).order_by(Grant.id))
            ]
    return DecisionReport(result, learner_name, view.credential.title, grants)

"""One learner as the course's staff see them: where they stand in each stack, every credential with all
its attempts (as submitted), each attempt's reviews and decision, their grants and their records."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from ..db import Database
from ..db.models import Assessment, AttemptDecision, Grant, Membership, Submission, User
from ..db.records_models import Award
from ..domain.submissions import SubmissionState
from .attempts import AttemptSnapshot, attempts_of
from .errors import NotFound
from .map_versions import course_map_for_version
from .progress import LearnerOverview, learner_overview


@dataclass(frozen=True)
class Review:
    assessor_name: str
    decision: str
    scores: list[tuple[str, str]]  # (criterion, level given), in the rubric's words
    feedback: str
    reviewed_at: datetime


@dataclass(frozen=True)
class Decision:
    decision: str
    rule: str
    reviews: int
    decided_at: datetime


@dataclass
class AttemptRecord:
    attempt: int
    snapshot: AttemptSnapshot | None  # None: not kept (submitted before attempts were recorded)
    reviews: list[Review] = field(default_factory=list)
    decision: Decision | None = None


@dataclass(frozen=True)
class CredentialRecord:
    submission_id: int
    credential_key: str
    title: str
    state: SubmissionState
    attempts: list[AttemptRecord]


@dataclass(frozen=True)
class GrantRecord:
    kind: str
    title: str
    ceus: Any
    contact_hours: Any
    granted_at: datetime
    revoked_at: datetime | None


@dataclass(frozen=True)
class AwardRecord:
    public_id: str
    kind: str
    title: str
    issued_at: datetime
    revoked_at: datetime | None


@dataclass(frozen=True)
class StaffLearnerPage:
    user_id: int
    name: str
    email: str
    overview: LearnerOverview
    credentials: list[CredentialRecord]
    grants: list[GrantRecord]
    awards: list[AwardRecord]


def _named_scores(session: Session, review: Assessment, credential_key: str) -> list[tuple[str, str]]:
    """A review's scores with the titles of the rubric it was given under (ids if the map lacks them)."""
    try:
        rubric = course_map_for_version(session, review.map_version_id).credential(credential_key).rubric
    except (KeyError, NotFound):
        return [(str(k), str(v)) for k, v in (review.scores or {}).items()]
    levels = {level.id: level.title for level in rubric.levels}
    given = dict(review.scores or {})
    named = [
        (c.title, levels.get(str(given[c.id]), str(given[c.id]))) for c in rubric.criteria if c.id in given
    ]
    return named + [(str(k), str(v)) for k, v in given.items() if k not in {c.id for c in rubric.criteria}]


def staff_learner_page(db: Database, context_id: int, user_id: int) -> StaffLearnerPage:
    """The learner ``user_id`` of this course; NotFound for anyone the course does not know."""
    with db.read() as session:
        user = session.get(User, user_id)
        member = exists().where(Membership.context_id == context_id, Membership.user_id == user_id)
        has_evidence = exists().where(Submission.context_id == context_id, Submission.user_id == user_id)
        if user is None or not session.scalar(select(member | has_evidence)):
            raise NotFound("unknown_learner", "No such learner in this course.")
        subs = list(
            session.scalars(
                select(Submission).where(Submission.context_id == context_id, Submission.user_id == user_id)
            )
        )
        ids = [s.id for s in subs]
        credential_of = {s.id: s.credential_key for s in subs}
        snapshots = attempts_of(session, ids)
        reviews: dict[tuple[int, int], list[Review]] = defaultdict(list)
        decisions: dict[tuple[int, int], Decision] = {}
        if ids:
            for a, name in session.execute(
                select(Assessment, User.name)
                .outerjoin(User, User.id == Assessment.assessor_id)
                .where(Assessment.submission_id.in_(ids))
                .order_by(Assessment.created_at, Assessment.id)
            ):
                scores = _named_scores(session, a, credential_of[a.submission_id])
                reviews[(a.submission_id, a.attempt)].append(
                    Review(name or "an operator", a.decision, scores, a.feedback, a.created_at)
                )
            for d in session.scalars(select(AttemptDecision).where(AttemptDecision.submission_id.in_(ids))):
                decisions[(d.submission_id, d.attempt)] = Decision(
                    d.decision, d.rule, d.reviews, d.decided_at
                )
        grants = [
            GrantRecord(g.kind, g.title, g.ceus, g.contact_hours, g.granted_at, g.revoked_at)
            for g in session.scalars(
                select(Grant)
                .where(Grant.context_id == context_id, Grant.user_id == user_id)
                .order_by(Grant.granted_at, Grant.id)
            )
        ]
        awards = [
            AwardRecord(a.public_id, a.kind, a.title, a.issued_at, a.revoked_at)
            for a in session.scalars(
                select(Award)
                .where(Award.context_id == context_id, Award.user_id == user_id)
                .order_by(Award.issued_at, Award.id)
            )
        ]
        name, email = user.name or f"Learner {user.id}", user.email
    overview = learner_overview(db, context_id, user_id)
    titles = {c.id: c.title for c in overview.course.credentials}
    order = {c.id: n for n, c in enumerate(overview.course.credentials)}
    credentials = []
    for sub in sorted(subs, key=lambda s: (order.get(s.credential_key, len(order)), s.credential_key)):
        kept = {s.attempt: s for s in snapshots[sub.id]}
        numbers = sorted(set(kept) | {a for (sid, a) in decisions if sid == sub.id})
        if sub.state != SubmissionState.DRAFT.value and sub.attempt not in numbers:
            numbers.append(sub.attempt)
        attempts = [
            AttemptRecord(n, kept.get(n), reviews.get((sub.id, n), []), decisions.get((sub.id, n)))
            for n in sorted(numbers)
        ]
        credentials.append(
            CredentialRecord(
                sub.id,
                sub.credential_key,
                titles.get(sub.credential_key, sub.credential_key),
                SubmissionState(sub.state),
                attempts,
            )
        )
    return StaffLearnerPage(user_id, name, email, overview, credentials, grants, awards)

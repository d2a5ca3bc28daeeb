"""Claims: an assessor who opens a submission to review it holds it for a while, so two assessors do not
review the same evidence by accident. A claim informs, it never blocks: a second assessor opening a held
submission is told who holds it and since when, and may still read it (and, on a panel, review it).

A claim ends when it expires, when its holder presses "Release", or when its holder submits their review.
Re-opening the page extends one's own claim."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import case, literal, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from ..db import Database
from ..db.base import utcnow
from ..db.models import Assessment, ReviewClaim, Submission, User
from ..domain.submissions import SubmissionState
from .errors import NotFound


@dataclass(frozen=True)
class Holder:
    assessor_id: int
    name: str
    claimed_at: datetime
    expires_at: datetime


@dataclass(frozen=True)
class ClaimState:
    mine: Holder | None  # the viewer's own claim, if they hold the submission
    others: list[Holder]  # everyone else holding it now, earliest first


def claim(db: Database, context_id: int, submission_id: int, assessor_id: int, minutes: int) -> ClaimState:
    """Hold the submission for ``assessor_id`` for ``minutes`` (from now: re-opening extends), if it waits for
    a review they may still give: not their own evidence, not an attempt they already reviewed."""
    with db.transaction() as session:
        sub = _submission(session, context_id, submission_id)
        now = utcnow()
        if _claimable(session, sub, assessor_id):
            insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
            still_held = (ReviewClaim.released_at.is_(None)) & (ReviewClaim.expires_at > now)
            statement = insert(ReviewClaim).values(
                submission_id=sub.id,
                assessor_id=assessor_id,
                attempt=sub.attempt,
                claimed_at=now,
                expires_at=now + timedelta(minutes=minutes),
                released_at=None,
            )
            # One row per (submission, assessor): a live claim keeps the time it began; an ended one, or one
            # on an earlier attempt, begins again now.
            session.execute(
                statement.on_conflict_do_update(
                    index_elements=["submission_id", "assessor_id"],
                    set_={
                        "attempt": statement.excluded.attempt,
                        "expires_at": statement.excluded.expires_at,
                        "released_at": None,
                        "claimed_at": case(
                            (still_held & (ReviewClaim.attempt == sub.attempt), ReviewClaim.claimed_at),
                            else_=literal(now, ReviewClaim.claimed_at.type),
                        ),
                    },
                )
            )
        return claim_state(session, sub.id, assessor_id)


def release(db: Database, context_id: int, submission_id: int, assessor_id: int) -> None:
    """End ``assessor_id``'s claim on the submission now (nothing to do if they hold none)."""
    with db.transaction() as session:
        _submission(session, context_id, submission_id)
        end_claim(session, submission_id, assessor_id)


def end_claim(session: Session, submission_id: int, assessor_id: int) -> None:
    """Inside another unit of work (submitting a review ends the reviewer's claim)."""
    now = utcnow()
    session.execute(
        update(ReviewClaim)
        .where(
            ReviewClaim.submission_id == submission_id,
            ReviewClaim.assessor_id == assessor_id,
            ReviewClaim.released_at.is_(None),
        )
        .values(released_at=now)
    )


def claim_state(session: Session, submission_id: int, assessor_id: int) -> ClaimState:
    holders = active_holders(session, [submission_id], utcnow()).get(submission_id, [])
    mine = next((h for h in holders if h.assessor_id == assessor_id), None)
    return ClaimState(mine, [h for h in holders if h.assessor_id != assessor_id])


def active_holders(
    session: Session, submission_ids: Iterable[int], now: datetime | None = None
) -> dict[int, list[Holder]]:
    """Who holds each submission now (released and expired claims, and claims on an attempt that is no
    longer current, do not count), earliest claim first; one query for a page of the queue."""
    ids = list(submission_ids)
    if not ids:
        return {}
    rows = session.execute(
        select(ReviewClaim, User.name)
        .join(User, User.id == ReviewClaim.assessor_id)
        .join(Submission, Submission.id == ReviewClaim.submission_id)
        .where(
            ReviewClaim.submission_id.in_(ids),
            ReviewClaim.released_at.is_(None),
            ReviewClaim.expires_at > (now or utcnow()),
            ReviewClaim.attempt == Submission.attempt,
        )
        .order_by(ReviewClaim.claimed_at, ReviewClaim.id)
    ).all()
    found: dict[int, list[Holder]] = {}
    for claim_row, name in rows:
        found.setdefault(claim_row.submission_id, []).append(
            Holder(
                claim_row.assessor_id,
                name or f"Assessor {claim_row.assessor_id}",
                claim_row.claimed_at,
                claim_row.expires_at,
            )
        )
    return found


def _submission(session: Session, context_id: int, submission_id: int) -> Submission:
    sub = session.get(Submission, submission_id)
    if sub is None or sub.context_id != context_id:
        raise NotFound("unknown_submission", "No such submission in this course.")
    return sub


def _claimable(session: Session, sub: Submission, assessor_id: int) -> bool:
    if sub.state != SubmissionState.SUBMITTED.value or sub.user_id == assessor_id:
        return False
    reviewed = session.scalar(
        select(Assessment.id).where(
            Assessment.submission_id == sub.id,
            Assessment.attempt == sub.attempt,
            Assessment.assessor_id == assessor_id,
        )
    )
    return reviewed is None

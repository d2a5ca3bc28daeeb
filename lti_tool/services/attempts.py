"""Each submitted attempt kept as it was: answers, reflections and the list of artifacts at submit time.

The submission row holds the evidence as it is now (a learner edits it after "not yet"); these snapshots
are what assessors compare ("what changed since the last attempt") and what staff read later.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from ..db.models import Artifact, Submission, SubmissionAttempt

ARTIFACT_FIELDS = ("id", "requirement_id", "label", "url", "filename", "content_type", "size_bytes", "sha256")


@dataclass(frozen=True)
class AttemptSnapshot:
    submission_id: int
    attempt: int
    answers: dict[str, str]
    reflections: dict[str, str]
    artifacts: list[dict[str, Any]]
    map_version_id: int
    submitted_at: datetime


def artifact_entry(artifact: Artifact) -> dict[str, Any]:
    return {name: getattr(artifact, name) for name in ARTIFACT_FIELDS}


def keep_attempt(session: Session, sub: Submission) -> None:
    """Record ``sub`` as submitted now, as its current attempt. Called inside the submit's transaction
    (under the learner's lock). A row for the same attempt is replaced: only migrated data can have one
    (the backfill kept what was waiting), and what is submitted now is the truth."""
    artifacts = session.scalars(
        select(Artifact).where(Artifact.submission_id == sub.id).order_by(Artifact.id)
    ).all()
    values = {
        "submission_id": sub.id,
        "attempt": sub.attempt,
        "answers": dict(sub.answers or {}),
        "reflections": dict(sub.reflections or {}),
        "artifacts": [artifact_entry(a) for a in artifacts],
        "map_version_id": sub.map_version_id,
        "submitted_at": sub.submitted_at,
    }
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    statement = insert(SubmissionAttempt).values(**values)
    session.execute(
        statement.on_conflict_do_update(
            index_elements=["submission_id", "attempt"],
            set_={k: statement.excluded[k] for k in values if k not in ("submission_id", "attempt")},
        )
    )


def snapshot(row: SubmissionAttempt) -> AttemptSnapshot:
    return AttemptSnapshot(
        submission_id=row.submission_id,
        attempt=row.attempt,
        answers={str(k): str(v) for k, v in (row.answers or {}).items()},
        reflections={str(k): str(v) for k, v in (row.reflections or {}).items()},
        artifacts=[dict(a) for a in (row.artifacts or [])],
        map_version_id=row.map_version_id,
        submitted_at=row.submitted_at,
    )


def attempts_of(session: Session, submission_ids: list[int]) -> dict[int, list[AttemptSnapshot]]:
    """Every kept attempt of these submissions, oldest first."""
    found: dict[int, list[AttemptSnapshot]] = {sid: [] for sid in submission_ids}
    if not submission_ids:
        return found
    for row in session.scalars(
        select(SubmissionAttempt)
        .where(SubmissionAttempt.submission_id.in_(submission_ids))
        .order_by(SubmissionAttempt.submission_id, SubmissionAttempt.attempt)
    ):
        found[row.submission_id].append(snapshot(row))
    return found

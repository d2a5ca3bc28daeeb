"""Learners collect evidence for a micro-credential: answers and reflections, then submit. Artifacts
(links, files) are services/artifacts.py."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from ..db import Database
from ..db.base import utcnow
from ..db.models import Artifact, Submission
from ..domain.definitions import CourseMap, Credential
from ..domain.evidence import ArtifactRef, missing_evidence, over_word_limits
from ..domain.submissions import SubmissionState, TransitionError, can_edit, next_state
from . import attempts, audit, outbox
from .errors import Conflict, EvidenceIncomplete, NotFound, ServiceError, WordLimitExceeded
from .learner_maps import learner_course, start_stacks
from .review_feedback import AttemptOutcome, decided_attempts
from .scope import lock_learner, require_learner_lock

MAX_TEXT = 20_000


@dataclass(frozen=True)
class ArtifactView:
    id: int
    requirement_id: str
    label: str
    url: str | None
    filename: str | None
    content_type: str | None
    size_bytes: int | None


@dataclass(frozen=True)
class SubmissionView:
    id: int | None
    context_id: int
    user_id: int
    course: CourseMap
    credential: Credential
    state: SubmissionState
    attempt: int
    answers: dict[str, str]
    reflections: dict[str, str]
    artifacts: list[ArtifactView]
    assessments: list[AttemptOutcome]  # decided attempts only, oldest first
    missing: list[str]
    submitted_at: datetime | None
    earned_at: datetime | None

    @property
    def editable(self) -> bool:
        return can_edit(self.state)

    @property
    def latest_feedback(self) -> AttemptOutcome | None:
        return self.assessments[-1] if self.assessments else None


def _credential(course: CourseMap, credential_key: str) -> Credential:
    try:
        return course.credential(credential_key)
    except KeyError:
        raise NotFound(
            "unknown_credential", f"No micro-credential {credential_key!r} in this course."
        ) from None


def _find(session: Session, context_id: int, user_id: int, credential_key: str) -> Submission | None:
    return session.scalar(
        select(Submission).where(
            Submission.context_id == context_id,
            Submission.user_id == user_id,
            Submission.credential_key == credential_key,
        )
    )


def _view(session: Session, course: CourseMap, credential: Credential, sub: Submission) -> SubmissionView:
    artifacts = list(
        session.scalars(select(Artifact).where(Artifact.submission_id == sub.id).order_by(Artifact.id))
    )
    state = SubmissionState(sub.state)
    return SubmissionView(
        id=sub.id,
        context_id=sub.context_id,
        user_id=sub.user_id,
        course=course,
        credential=credential,
        state=state,
        attempt=sub.attempt,
        answers=dict(sub.answers or {}),
        reflections=dict(sub.reflections or {}),
        artifacts=[
            ArtifactView(a.id, a.requirement_id, a.label, a.url, a.filename, a.content_type, a.size_bytes)
            for a in artifacts
        ],
        assessments=decided_attempts(session, sub.id),
        missing=missing_evidence(
            credential.requirements,
            sub.answers or {},
            sub.reflections or {},
            [ArtifactRef(a.requirement_id, a.label) for a in artifacts],
        )
        if can_edit(state)
        else [],
        submitted_at=sub.submitted_at,
        earned_at=sub.earned_at,
    )


def open_submission(db: Database, context_id: int, user_id: int, credential_key: str) -> SubmissionView:
    """The learner's evidence for a credential; an unsaved empty draft if they have not started."""
    with db.read() as session:
        course = learner_course(session, context_id, user_id).course
        credential = _credential(course, credential_key)
        sub = _find(session, context_id, user_id, credential_key)
        if sub is None:
            return SubmissionView(
                None,
                context_id,
                user_id,
                course,
                credential,
                SubmissionState.DRAFT,
                1,
                {},
                {},
                [],
                [],
                missing_evidence(credential.requirements, {}, {}, []),
                None,
                None,
            )
        return _view(session, course, credential, sub)


def _start(
    session: Session, context_id: int, user_id: int, course_key: str, credential_key: str, version_id: int
) -> Submission:
    """The learner's first action on a credential inserts its draft. The per-learner lock already orders
    first actions; ``ON CONFLICT DO NOTHING`` keeps the unique key from ever surfacing as an error."""
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    created = session.execute(
        insert(Submission)
        .values(
            context_id=context_id,
            user_id=user_id,
            course_key=course_key,
            credential_key=credential_key,
            map_version_id=version_id,
            state=SubmissionState.DRAFT.value,
            answers={},
            reflections={},
        )
        .on_conflict_do_nothing(index_elements=["context_id", "user_id", "credential_key"])
        .returning(Submission.id)
    ).scalar()
    sub = _find(session, context_id, user_id, credential_key)
    if sub is None:  # pragma: no cover - the insert or the conflicting row guarantees one
        raise Conflict("busy", "Your evidence is being saved by another request. Please try again.")
    if created is not None:
        audit.record(
            session,
            action="submission.started",
            subject_type="submission",
            subject_id=sub.id,
            actor_user_id=user_id,
            context_id=context_id,
            map_version_id=version_id,
            data={"credential": credential_key},
        )
    return sub


def _editable(
    session: Session, context_id: int, user_id: int, credential_key: str
) -> tuple[Submission, CourseMap, Credential]:
    require_learner_lock(session, context_id, user_id)  # state is read after the lock, so it is current
    learner = learner_course(session, context_id, user_id)
    course = learner.course
    credential = _credential(course, credential_key)
    # The first action on a credential starts its stacks: the learner is judged by the version live now.
    start_stacks(session, learner, user_id, credential_key)
    sub = _find(session, context_id, user_id, credential_key) or _start(
        session, context_id, user_id, course.id, credential_key, learner.credential_version(credential_key)
    )
    if not can_edit(SubmissionState(sub.state)):
        raise _not_editable(SubmissionState(sub.state))
    return sub, course, credential


def _not_editable(state: SubmissionState) -> Conflict:
    if state is SubmissionState.EARNED:
        return Conflict("already_earned", "This micro-credential is already earned; its evidence is final.")
    return Conflict(
        "awaiting_review",
        "This evidence is waiting for an assessor; you can edit it if it comes back 'not yet'.",
    )


def _clean_texts(allowed: set[str], values: dict[str, str]) -> dict[str, str]:
    cleaned: dict[str, str] = {}
    for key, value in values.items():
        if key not in allowed:
            raise ServiceError("unknown_field", f"Unknown question {key!r}.")
        if len(value) > MAX_TEXT:
            raise ServiceError("text_too_long", f"An answer is limited to {MAX_TEXT} characters.")
        cleaned[key] = value
    return cleaned


def save_draft(
    db: Database,
    context_id: int,
    user_id: int,
    credential_key: str,
    answers: dict[str, str],
    reflections: dict[str, str],
) -> SubmissionView:
    with db.transaction() as session:
        lock_learner(session, context_id, user_id)
        sub, course, credential = _editable(session, context_id, user_id, credential_key)
        req = credential.requirements
        sub.answers = {**(sub.answers or {}), **_clean_texts({q.id for q in req.overview_questions}, answers)}
        sub.reflections = {
            **(sub.reflections or {}),
            **_clean_texts({r.id for r in req.reflection_prompts}, reflections),
        }
        too_long = over_word_limits(req, sub.answers, sub.reflections)
        if too_long:  # the transaction rolls back: the saved draft stays as it was, the page keeps the text
            raise WordLimitExceeded(too_long)
        sub.updated_at = utcnow()
        session.flush()
        return _view(session, course, credential, sub)


def submit(db: Database, context_id: int, user_id: int, credential_key: str) -> SubmissionView:
    with db.transaction() as session:
        lock_learner(session, context_id, user_id)
        sub, course, credential = _editable(session, context_id, user_id, credential_key)
        view = _view(session, course, credential, sub)
        if view.missing:
            raise EvidenceIncomplete(view.missing)
        previous = SubmissionState(sub.state)
        try:
            new_state = next_state(previous, "submit")
        except TransitionError as exc:
            raise Conflict(exc.code, str(exc)) from None
        # Assessed against the credential as the learner's version of its stack defines it.
        version_id = learner_course(session, context_id, user_id).credential_version(credential_key)
        if previous is SubmissionState.NOT_YET:
            sub.attempt += 1
        sub.state = new_state.value
        sub.map_version_id = version_id
        sub.submitted_at = sub.updated_at = utcnow()
        audit.record(
            session,
            action="submission.submitted",
            subject_type="submission",
            subject_id=sub.id,
            actor_user_id=user_id,
            context_id=context_id,
            map_version_id=version_id,
            data={"credential": credential_key, "attempt": sub.attempt, "from": previous.value},
        )
        outbox.enqueue(session, "gradebook.credential", gradebook_payload(sub, credential, ""))
        session.flush()
        attempts.keep_attempt(session, sub)  # as submitted: later edits after "not yet" do not change it
        return _view(session, course, credential, sub)


def gradebook_payload(sub: Submission, credential: Credential, comment: str) -> dict[str, Any]:
    return {
        "context_id": sub.context_id,
        "user_id": sub.user_id,
        "course_key": sub.course_key,
        "credential_key": sub.credential_key,
        "title": credential.title,
        "state": sub.state,
        "comment": comment,
        "timestamp": utcnow().isoformat(),
    }


def save_and_submit(
    db: Database,
    context_id: int,
    user_id: int,
    credential_key: str,
    answers: dict[str, str],
    reflections: dict[str, str],
) -> SubmissionView:
    """ "Submit for review": what was typed is saved first, so a refused submission loses nothing."""
    save_draft(db, context_id, user_id, credential_key, answers, reflections)
    return submit(db, context_id, user_id, credential_key)

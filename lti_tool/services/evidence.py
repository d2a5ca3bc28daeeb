"""Learners collect evidence for a micro-credential: answers, artifacts, reflections; then submit."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, BinaryIO
from urllib.parse import urlparse

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..db import Database
from ..db.base import utcnow
from ..db.models import Artifact, Assessment, Submission
from ..domain.definitions import ArtifactRequirement, CourseMap, Credential
from ..domain.evidence import ArtifactRef, missing_evidence
from ..domain.submissions import SubmissionState, TransitionError, can_edit, next_state
from ..storage import FileStore, TooLarge
from . import audit, outbox
from .errors import Conflict, EvidenceIncomplete, NotFound, ServiceError
from .scope import context_course

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
class AssessmentView:
    attempt: int
    decision: str
    feedback: str
    scores: dict[str, Any]
    decided_at: datetime


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
    assessments: list[AssessmentView]
    missing: list[str]
    submitted_at: datetime | None
    earned_at: datetime | None

    @property
    def editable(self) -> bool:
        return can_edit(self.state)

    @property
    def latest_feedback(self) -> AssessmentView | None:
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
    assessments = list(
        session.scalars(
            select(Assessment).where(Assessment.submission_id == sub.id).order_by(Assessment.attempt)
        )
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
        assessments=[
            AssessmentView(a.attempt, a.decision, a.feedback, dict(a.scores), a.created_at)
            for a in assessments
        ],
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
        _, course, _ = context_course(session, context_id)
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


def _editable(
    session: Session, context_id: int, user_id: int, credential_key: str
) -> tuple[Submission, CourseMap, Credential]:
    _, course, version_id = context_course(session, context_id)
    credential = _credential(course, credential_key)
    sub = _find(session, context_id, user_id, credential_key)
    if sub is None:
        sub = Submission(
            context_id=context_id,
            user_id=user_id,
            course_key=course.id,
            credential_key=credential_key,
            map_version_id=version_id,
            state=SubmissionState.DRAFT.value,
            answers={},
            reflections={},
        )
        session.add(sub)
        session.flush()
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
    elif not can_edit(SubmissionState(sub.state)):
        state = SubmissionState(sub.state)
        if state is SubmissionState.EARNED:
            raise Conflict(
                "already_earned", "This micro-credential is already earned; its evidence is final."
            )
        raise Conflict(
            "awaiting_review",
            "This evidence is waiting for an assessor; you can edit it if it comes back 'not yet'.",
        )
    return sub, course, credential


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
        sub, course, credential = _editable(session, context_id, user_id, credential_key)
        req = credential.requirements
        sub.answers = {**(sub.answers or {}), **_clean_texts({q.id for q in req.overview_questions}, answers)}
        sub.reflections = {
            **(sub.reflections or {}),
            **_clean_texts({r.id for r in req.reflection_prompts}, reflections),
        }
        sub.updated_at = utcnow()
        session.flush()
        return _view(session, course, credential, sub)


def _requirement(credential: Credential, requirement_id: str) -> ArtifactRequirement:
    for requirement in credential.requirements.artifacts:
        if requirement.id == requirement_id:
            return requirement
    raise ServiceError("unknown_artifact", f"Unknown artifact requirement {requirement_id!r}.")


def _attach(
    db: Database, context_id: int, user_id: int, credential_key: str, artifact: Artifact
) -> SubmissionView:
    """Add one artifact to the learner's editable evidence, within the requirement's maximum."""
    with db.transaction() as session:
        sub, course, credential = _editable(session, context_id, user_id, credential_key)
        requirement = _requirement(credential, artifact.requirement_id)
        count = session.scalar(
            select(func.count())
            .select_from(Artifact)
            .where(Artifact.submission_id == sub.id, Artifact.requirement_id == requirement.id)
        )
        if (count or 0) >= requirement.max_count:
            raise ServiceError(
                "too_many_artifacts",
                f"At most {requirement.max_count} for: {requirement.description} Remove one to add another.",
            )
        artifact.submission_id = sub.id
        session.add(artifact)
        sub.updated_at = utcnow()
        session.flush()
        return _view(session, course, credential, sub)


def add_link_artifact(
    db: Database,
    context_id: int,
    user_id: int,
    credential_key: str,
    requirement_id: str,
    url: str,
    label: str,
) -> SubmissionView:
    parsed = urlparse(url.strip())
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise ServiceError(
            "bad_link", "Links must be full http(s) addresses, e.g. https://video.example/lesson."
        )
    artifact = Artifact(requirement_id=requirement_id, label=label.strip()[:255] or url, url=url.strip())
    return _attach(db, context_id, user_id, credential_key, artifact)


def add_file_artifact(
    db: Database,
    store: FileStore,
    context_id: int,
    user_id: int,
    credential_key: str,
    requirement_id: str,
    filename: str,
    content_type: str,
    stream: BinaryIO,
    max_bytes: int,
    label: str = "",
) -> SubmissionView:
    # Check the requirement before reading the upload, so a refused file costs nothing.
    with db.read() as session:
        _, course, _ = context_course(session, context_id)
        _requirement(_credential(course, credential_key), requirement_id)
    try:
        stored = store.save(stream, max_bytes)
    except TooLarge:
        raise ServiceError(
            "upload_too_large",
            f"That file is larger than the {max_bytes // (1024 * 1024)} MB limit. Nothing was saved.",
        ) from None
    if stored.size_bytes == 0:
        raise ServiceError("empty_upload", "That file is empty.")
    artifact = Artifact(
        requirement_id=requirement_id,
        label=(label or filename)[:255],
        filename=filename[:255],
        content_type=(content_type or "application/octet-stream")[:128],
        size_bytes=stored.size_bytes,
        sha256=stored.sha256,
        storage_key=stored.storage_key,
    )
    return _attach(db, context_id, user_id, credential_key, artifact)


def remove_artifact(
    db: Database, context_id: int, user_id: int, credential_key: str, artifact_id: int
) -> SubmissionView:
    with db.transaction() as session:
        sub, course, credential = _editable(session, context_id, user_id, credential_key)
        artifact = session.get(Artifact, artifact_id)
        if artifact is None or artifact.submission_id != sub.id:
            raise NotFound("unknown_artifact", "That artifact is not part of this evidence.")
        session.delete(artifact)
        sub.updated_at = utcnow()
        session.flush()
        return _view(session, course, credential, sub)


def submit(db: Database, context_id: int, user_id: int, credential_key: str) -> SubmissionView:
    with db.transaction() as session:
        sub, course, credential = _editable(session, context_id, user_id, credential_key)
        view = _view(session, course, credential, sub)
        if view.missing:
            raise EvidenceIncomplete(view.missing)
        previous = SubmissionState(sub.state)
        try:
            new_state = next_state(previous, "submit")
        except TransitionError as exc:
            raise Conflict(exc.code, str(exc)) from None
        _, _, version_id = context_course(session, context_id)
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

"""Assessors score submitted evidence against the rubric: earned, or not yet with feedback."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..db import Database
from ..db.base import utcnow
from ..db.models import Assessment, AttemptDecision, Submission, User
from ..domain.completion import progress
from ..domain.definitions import CourseMap, Stack
from ..domain.grants import DueGrant
from ..domain.rubric import Decision, ScoringError
from ..domain.rubric import decide as rubric_decide
from ..domain.submissions import SubmissionState, TransitionError, next_state
from . import audit, notifications, outbox, records
from .errors import Conflict, NotFound, ServiceError
from .evidence import SubmissionView, _view, gradebook_payload
from .gradebook import stack_payload
from .grants import earned_credentials, grant_due
from .learner_maps import learner_course
from .map_versions import course_map_for_version
from .scope import context_course, lock_learner


@dataclass(frozen=True)
class QueueItem:
    submission_id: int
    learner_name: str
    credential_key: str
    credential_title: str
    stack_titles: list[str]
    attempt: int
    submitted_at: datetime | None


@dataclass(frozen=True)
class DecisionResult:
    decision: Decision
    unmet_criteria: tuple[str, ...]
    new_grants: list[tuple[int, str, str]]  # (grant id, kind, target key)


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
    with db.transaction() as session:
        sub = session.get(Submission, submission_id)
        if sub is None or sub.context_id != context_id:
            raise NotFound("unknown_submission", "No such submission in this course.")
        if sub.user_id == assessor_id:
            raise ServiceError("own_submission", "Assessors cannot decide on their own evidence.")
        lock_learner(session, context_id, sub.user_id)
        session.refresh(sub)
        try:
            new_state_for = {Decision.EARNED: "earn", Decision.NOT_YET: "not_yet"}
            submitted_course = course_map_for_version(session, sub.map_version_id)
            credential = submitted_course.credential(sub.credential_key)
            outcome = rubric_decide(credential.rubric, scores, feedback)
            new_state = next_state(SubmissionState(sub.state), new_state_for[outcome.decision])
        except ScoringError as exc:
            raise ServiceError(exc.code, str(exc)) from None
        except TransitionError as exc:
            raise Conflict(exc.code, "This evidence was already decided: " + str(exc)) from None
        try:
            with session.begin_nested():
                session.add(
                    Assessment(
                        submission_id=sub.id,
                        attempt=sub.attempt,
                        assessor_id=assessor_id,
                        decision=outcome.decision.value,
                        scores=dict(scores),
                        feedback=feedback.strip(),
                        map_version_id=sub.map_version_id,
                    )
                )
                session.add(
                    AttemptDecision(
                        submission_id=sub.id,
                        attempt=sub.attempt,
                        decision=outcome.decision.value,
                        rule="single",
                        reviews=1,
                        map_version_id=sub.map_version_id,
                    )
                )
                session.flush()
        except IntegrityError:
            raise Conflict("already_decided", "Another assessor decided this attempt a moment ago.") from None
        sub.state = new_state.value
        sub.updated_at = utcnow()
        if new_state is SubmissionState.EARNED:
            sub.earned_at = sub.updated_at
        audit.record(
            session,
            action=f"submission.{new_state.value}",
            subject_type="submission",
            subject_id=sub.id,
            actor_user_id=assessor_id,
            context_id=context_id,
            map_version_id=sub.map_version_id,
            data={
                "credential": sub.credential_key,
                "attempt": sub.attempt,
                "unmet": list(outcome.unmet_criteria),
            },
        )
        outbox.enqueue(session, "gradebook.credential", gradebook_payload(sub, credential, feedback.strip()))
        notifications.decision_recorded(session, sub, credential.title, outcome.decision.value, feedback)
        new_grants: list[tuple[int, str, str]] = []
        if new_state is SubmissionState.EARNED:
            records.issue_credential_award(session, sub, submitted_course)
            # Completion is judged, stack by stack, by the version the learner started the stack under.
            learner = learner_course(session, context_id, sub.user_id)
            course = learner.course
            created = grant_due(
                session,
                context_id=context_id,
                user_id=sub.user_id,
                course=course,
                map_version_id=learner.live_version_id,
                actor_user_id=assessor_id,
                stack_versions=learner.stack_versions,
            )
            new_grants = [(gid, due.kind.value, due.target_id) for gid, due in created]
            stacks = course.stacks_containing(sub.credential_key)
            enqueue_stack_scores(session, context_id, sub.user_id, course, stacks, created)
        return DecisionResult(outcome.decision, outcome.unmet_criteria, new_grants)


def enqueue_stack_scores(
    session: Session,
    context_id: int,
    user_id: int,
    course: CourseMap,
    stacks: Iterable[Stack],
    created: Sequence[tuple[int, DueGrant]],
) -> None:
    """A gradebook message per stack: the learner's progress in it (``course`` as they are judged by it),
    and its CEUs when this unit of work granted them (``created``)."""
    granted = {due.target_id: due for _, due in created}
    earned = earned_credentials(session, context_id, user_id)
    for stack in stacks:
        done, needed = progress(stack, earned)
        due = granted.get(stack.id)
        ceus = due.ceus if due else None
        payload = stack_payload(context_id, user_id, course.id, stack.id, stack.title, done, needed, ceus)
        outbox.enqueue(session, "gradebook.stack", payload)

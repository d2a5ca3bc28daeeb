"""An assessor's review of the current attempt, and the attempt's decision once its panel is complete.

One assessor (panel 1) decides alone, as always. A panel of N: N different assessors review the attempt
independently; the N-th review makes the map's rule decide, and only then does anything leave the review:
the submission's state, the audit line, the gradebook message, the record, the CEU grants. All of it happens
under the learner's lock, and the attempt's decision has a unique key, so a race of the last reviews ends in
one decision, one grant and one set of outbox messages.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..db import Database
from ..db.base import utcnow
from ..db.models import Assessment, AttemptDecision, Submission, User
from ..domain.completion import progress
from ..domain.definitions import CourseMap, Credential, ReviewPolicy, Stack
from ..domain.grants import DueGrant
from ..domain.panels import panel_outcome, rule_name
from ..domain.rubric import Decision, ScoringError
from ..domain.rubric import decide as rubric_decide
from ..domain.submissions import SubmissionState, TransitionError, next_state
from . import audit, notifications, outbox, records, review_claims
from .errors import Conflict, NotFound, ServiceError
from .evidence import SubmissionView, _view, gradebook_payload
from .gradebook import stack_payload
from .grants import earned_credentials, grant_due
from .learner_maps import learner_course
from .map_versions import course_map_for_version
from .review_feedback import ReviewView, combined_feedback, reviews_of
from .scope import lock_learner


@dataclass(frozen=True)
class ReviewResult:
    decision: Decision | None  # the attempt's decision; None while its panel waits for more reviews
    review: Decision  # what this reviewer's scores say
    unmet_criteria: tuple[str, ...]
    new_grants: list[tuple[int, str, str]]  # (grant id, kind, target key)
    reviews_in: int = 1
    panel: int = 1


@dataclass(frozen=True)
class ReviewPage:
    """A submission as one assessor may see it now."""

    view: SubmissionView
    learner_name: str
    policy: ReviewPolicy
    reviews_in: int  # reviews of the current attempt so far
    mine: ReviewView | None  # the viewer's review of the current attempt
    visible_reviews: list[ReviewView]  # the current attempt's reviews, once the viewer has given theirs
    claims: review_claims.ClaimState
    viewer_id: int

    @property
    def waiting(self) -> bool:
        return self.view.state is SubmissionState.SUBMITTED

    @property
    def can_review(self) -> bool:
        return self.waiting and self.mine is None and self.view.user_id != self.viewer_id


def review_page(db: Database, context_id: int, submission_id: int, viewer_id: int) -> ReviewPage:
    """The evidence, the rubric of the version it was submitted under, and the current attempt's reviews
    only if the viewer has given theirs: panel reviews stay independent."""
    with db.read() as session:
        sub = _submission(session, context_id, submission_id)
        course = course_map_for_version(session, sub.map_version_id)
        credential = course.credential(sub.credential_key)
        user = session.get(User, sub.user_id)
        current = reviews_of(session, sub.id, sub.attempt).get(sub.attempt, [])
        mine = next((r for r in current if r.assessor_id == viewer_id), None)
        decided = sub.state != SubmissionState.SUBMITTED.value
        return ReviewPage(
            view=_view(session, course, credential, sub),
            learner_name=user.name if user and user.name else "",
            policy=credential.review,
            reviews_in=len(current),
            mine=mine,
            visible_reviews=current if (mine is not None or decided) else [],
            claims=review_claims.claim_state(session, sub.id, viewer_id),
            viewer_id=viewer_id,
        )


def review(
    db: Database, context_id: int, submission_id: int, assessor_id: int, scores: dict[str, str], feedback: str
) -> ReviewResult:
    """Record ``assessor_id``'s review of the submission's current attempt; decide it if the panel is now
    complete. Not yet needs feedback; nobody reviews their own evidence; a person reviews an attempt once."""
    with db.transaction() as session:
        sub = _submission(session, context_id, submission_id)
        if sub.user_id == assessor_id:
            raise ServiceError("own_submission", "Assessors cannot decide on their own evidence.")
        lock_learner(session, context_id, sub.user_id)
        session.refresh(sub)
        submitted_course = course_map_for_version(session, sub.map_version_id)
        credential = submitted_course.credential(sub.credential_key)
        if sub.state != SubmissionState.SUBMITTED.value:
            try:
                next_state(SubmissionState(sub.state), "earn")
            except TransitionError as exc:
                raise Conflict(exc.code, "This evidence was already decided: " + str(exc)) from None
        try:
            outcome = rubric_decide(credential.rubric, scores, feedback)
        except ScoringError as exc:
            raise ServiceError(exc.code, str(exc)) from None
        earlier = reviews_of(session, sub.id, sub.attempt).get(sub.attempt, [])
        if any(r.assessor_id == assessor_id for r in earlier):
            raise Conflict("already_reviewed", "You already reviewed this attempt.")
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
                session.flush()
        except IntegrityError:
            # Only without the learner's lock (it serialises reviews): the unique key still counts one.
            raise Conflict("already_reviewed", "You already reviewed this attempt.") from None
        review_claims.end_claim(session, sub.id, assessor_id)
        policy = credential.review
        decisions = [Decision(r.decision) for r in earlier] + [outcome.decision]
        decided = panel_outcome(policy, decisions)
        if decided is None:
            audit.record(
                session,
                action="submission.reviewed",
                subject_type="submission",
                subject_id=sub.id,
                actor_user_id=assessor_id,
                context_id=context_id,
                map_version_id=sub.map_version_id,
                data={
                    "credential": sub.credential_key,
                    "attempt": sub.attempt,
                    "review": outcome.decision.value,
                    "reviews": len(decisions),
                    "panel": policy.panel,
                },
            )
            return ReviewResult(
                None, outcome.decision, outcome.unmet_criteria, [], len(decisions), policy.panel
            )
        reviews = reviews_of(session, sub.id, sub.attempt).get(sub.attempt, [])
        new_grants = _decide(
            session,
            sub,
            submitted_course,
            credential,
            decided,
            rule=rule_name(policy),
            reviews=reviews,
            actor_user_id=assessor_id,
            unmet=outcome.unmet_criteria,
        )
        return ReviewResult(
            decided, outcome.decision, outcome.unmet_criteria, new_grants, len(decisions), policy.panel
        )


def _decide(
    session: Session,
    sub: Submission,
    submitted_course: CourseMap,
    credential: Credential,
    decision: Decision,
    *,
    rule: str,
    reviews: Sequence[ReviewView],
    actor_user_id: int,
    unmet: tuple[str, ...],
) -> list[tuple[int, str, str]]:
    """The attempt's decision and everything that follows from it, in the reviewer's unit of work."""
    new_state = next_state(SubmissionState(sub.state), "earn" if decision is Decision.EARNED else "not_yet")
    try:
        with session.begin_nested():
            session.add(
                AttemptDecision(
                    submission_id=sub.id,
                    attempt=sub.attempt,
                    decision=decision.value,
                    rule=rule,
                    reviews=len(reviews),
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
    context_id = sub.context_id
    data: dict[str, object] = {"credential": sub.credential_key, "attempt": sub.attempt, "unmet": list(unmet)}
    if len(reviews) > 1:
        data |= {"rule": rule, "reviews": [r.decision for r in reviews]}
    audit.record(
        session,
        action=f"submission.{new_state.value}",
        subject_type="submission",
        subject_id=sub.id,
        actor_user_id=actor_user_id,
        context_id=context_id,
        map_version_id=sub.map_version_id,
        data=data,
    )
    comment = combined_feedback(reviews)
    outbox.enqueue(session, "gradebook.credential", gradebook_payload(sub, credential, comment))
    notifications.decision_recorded(session, sub, credential.title, decision.value, comment)
    if new_state is not SubmissionState.EARNED:
        return []
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
        actor_user_id=actor_user_id,
        stack_versions=learner.stack_versions,
    )
    stacks = course.stacks_containing(sub.credential_key)
    enqueue_stack_scores(session, context_id, sub.user_id, course, stacks, created)
    return [(gid, due.kind.value, due.target_id) for gid, due in created]


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


def _submission(session: Session, context_id: int, submission_id: int) -> Submission:
    sub = session.get(Submission, submission_id)
    if sub is None or sub.context_id != context_id:
        raise NotFound("unknown_submission", "No such submission in this course.")
    return sub

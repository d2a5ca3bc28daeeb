"""Revoke an earned micro-credential (misconduct found, or an earned decision overturned): the credential
goes back to "not yet" with the reason as its decision, every grant that no longer holds without it is
revoked with its record, the verification pages and the badge status list say so, the gradebook is told,
and every office that received a revoked record is sent its revocation. All in one transaction, audited."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from ..db import Database
from ..db.base import utcnow
from ..db.models import Assessment, AttemptDecision, Grant, Submission
from ..db.records_models import Award
from ..domain.grants import due_grants
from ..domain.submissions import SubmissionState, TransitionError, next_state
from . import audit, outbox
from .assessment import enqueue_stack_scores
from .errors import Conflict, NotFound, ServiceError
from .evidence import gradebook_payload
from .grants import earned_credentials
from .learner_maps import learner_course
from .map_versions import course_map_for_version
from .records import CREDENTIAL, queue_revocations
from .scope import lock_learner


@dataclass(frozen=True)
class Revocation:
    credential: str
    revoked_records: list[str]  # public ids: the credential's and every grant's that fell with it
    offices_notified: int


def revoke_credential(
    db: Database, public_id: str, reason: str, *, actor_user_id: int | None = None, actor: str | None = None
) -> Revocation:
    """Revoke the earned credential whose award (badge) has ``public_id``."""
    reason = " ".join(reason.split())
    if not reason:
        raise ServiceError(
            "reason_required", "Say why: the learner and the offices are told.", field="reason"
        )
    with db.transaction() as session:
        found = session.scalar(select(Award).where(Award.public_id == public_id.strip().upper()))
        if found is None:
            raise NotFound("unknown_record", f"No record {public_id!r}.")
        if found.kind != CREDENTIAL:
            credentials = found.details.get("credentials", [])
            names = ", ".join(str(c.get("key")) for c in credentials)
            raise ServiceError(
                "revoke_a_credential",
                f"{found.public_id} is a CEU record; revoke the micro-credential it depends on ({names}) and "
                "the record falls with it.",
            )
        lock_learner(session, found.context_id, found.user_id)
        session.refresh(found)
        if found.revoked_at is not None:
            raise Conflict("already_revoked", f"{found.public_id} was already revoked.")
        sub = session.get(Submission, found.submission_id) if found.submission_id else None
        if sub is None:
            raise NotFound("unknown_submission", "The evidence behind this record is gone.")
        try:
            sub.state = next_state(SubmissionState(sub.state), "revoke").value
        except TransitionError as exc:
            raise Conflict(exc.code, str(exc)) from None
        now = utcnow()
        sub.attempt += 1
        sub.earned_at = None
        sub.updated_at = now
        session.add(
            Assessment(
                submission_id=sub.id,
                attempt=sub.attempt,
                assessor_id=actor_user_id,
                decision="revoked",
                scores={},
                feedback=reason,
                map_version_id=sub.map_version_id,
            )
        )
        session.add(
            AttemptDecision(
                submission_id=sub.id,
                attempt=sub.attempt,
                decision="revoked",
                rule="revocation",
                reviews=0,
                map_version_id=sub.map_version_id,
                decided_at=now,
            )
        )
        found.revoked_at, found.revoked_reason = now, reason
        revoked = [found]
        # Which grants still hold, judged as the learner is judged (their versions of each stack).
        learner = learner_course(session, found.context_id, found.user_id)
        still_due = {
            (d.kind.value, d.target_id)
            for d in due_grants(learner.course, earned_credentials(session, found.context_id, found.user_id))
        }
        for grant in session.scalars(
            select(Grant).where(
                Grant.context_id == found.context_id,
                Grant.user_id == found.user_id,
                Grant.revoked_at.is_(None),
            )
        ):
            if (grant.kind, grant.target_key) in still_due:
                continue
            grant.revoked_at, grant.revoked_reason = now, reason
            for award in session.scalars(
                select(Award).where(Award.grant_id == grant.id, Award.revoked_at.is_(None))
            ):
                award.revoked_at, award.revoked_reason = now, reason
                revoked.append(award)
        session.flush()
        notified = sum(len(queue_revocations(session, award)) for award in revoked)
        for award in revoked:
            audit.record(
                session,
                action=f"award.revoked.{award.kind}",
                subject_type="award",
                subject_id=award.public_id,
                actor_user_id=actor_user_id,
                actor=actor,
                context_id=award.context_id,
                map_version_id=award.map_version_id,
                data={"learner": award.user_id, "target": award.target_key, "reason": reason},
            )
        credential = course_map_for_version(session, sub.map_version_id).credential(sub.credential_key)
        outbox.enqueue(session, "gradebook.credential", gradebook_payload(sub, credential, reason))
        stacks = learner.course.stacks_containing(sub.credential_key)
        enqueue_stack_scores(session, found.context_id, found.user_id, learner.course, stacks, [])
        return Revocation(sub.credential_key, [a.public_id for a in revoked], notified)

"""One credential or stack, one column: when a placement's launches offer a column for something the tool
had its own column for, move to the placement's, and retire the old one.

``adopt_placement`` runs for the ``gradebook.placement`` outbox message a launch writes when a placement
is new or changed (services/placements.py), and for a score that finds the tool's own column still
remembered beside a placement's. In one transaction it retires the tool's own column (a
``retired_line_items`` row, and a ``gradebook.retire`` message when the tool created it), writes every
learner's current state to the outbox again, so the placement's column shows what happened before it was
placed, and records the change in the audit trail. The AGS adapter deletes a retired column the tool
created when the platform lets it manage columns (lineitem scope); otherwise the column stays, and the
designer page lists it with the reason (``retired_column_kept``). docs/decisions/0007-gradebook-columns.md.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..db import Database
from ..db.base import utcnow
from ..db.lti_service_models import RetiredLineItem
from ..db.models import Assessment, Grant, Submission
from ..domain.completion import progress
from ..domain.definitions import CourseMap
from ..domain.submissions import SubmissionState
from . import audit, outbox
from .errors import CourseNotConfigured
from .gradebook import (
    CREDENTIAL,
    STACK,
    TOPIC_CREDENTIAL,
    TOPIC_RETIRE,
    TOPIC_STACK,
    credential_payload,
    own_line_item,
    placements_for,
    stack_payload,
)
from .learner_maps import learner_course
from .scope import context_course


@dataclass(frozen=True)
class Adoption:
    lineitem_url: str
    replaced_url: str | None  # the tool's own column it replaced
    retired_id: int | None  # the retired_line_items row, when there was one
    resent: int  # learners' current states sent again, to the placement's column


def adopt_placement(db: Database, context_id: int, kind: str, key: str) -> Adoption | None:
    """Make the first placement's offered column the one for this credential or stack, in one transaction.

    The tool's own column, if it had one, is retired: a ``gradebook.retire`` message asks the AGS adapter
    to delete it when the tool created it (never a column it only found). Every learner's current state
    for it is written to the outbox again, so the placement's column shows what happened before it was
    placed. Idempotent: a second call finds nothing to retire and sends the same states again.
    """
    with db.transaction() as session:
        placements = [p for p in placements_for(session, context_id, kind, key) if p.lineitem_url]
        if not placements:
            return None
        placement = placements[0]
        assert placement.lineitem_url is not None
        own = own_line_item(session, context_id, kind, key)
        replaced: str | None = None
        retired_id: int | None = None
        if own is not None and own.lineitem_url != placement.lineitem_url:
            replaced = own.lineitem_url
            retired = RetiredLineItem(
                context_id=context_id,
                kind=kind,
                key=key,
                lineitem_url=own.lineitem_url,
                replaced_by_url=placement.lineitem_url,
                created_by_tool=own.created_by_tool,
                note="" if own.created_by_tool else "The tool found this column but did not create it.",
            )
            session.add(retired)
            session.delete(own)
            session.flush()
            retired_id = retired.id
            if own.created_by_tool:
                outbox.enqueue(session, TOPIC_RETIRE, {"context_id": context_id, "retired_id": retired.id})
        resent = _resend_states(session, context_id, kind, key)
        audit.record(
            session,
            action="gradebook.column_adopted",
            subject_type="placement",
            subject_id=placement.id,
            context_id=context_id,
            data={
                "kind": kind,
                "key": key,
                "resource_link_id": placement.resource_link_id,
                "lineitem_url": placement.lineitem_url,
                "replaced_url": replaced,
                "resent": resent,
            },
        )
        return Adoption(placement.lineitem_url, replaced, retired_id, resent)


def _resend_states(session: Session, context_id: int, kind: str, key: str) -> int:
    """Write each learner's current state of one credential or stack to the outbox again."""
    try:
        _, course, _ = context_course(session, context_id)
    except CourseNotConfigured:
        return 0
    if kind == CREDENTIAL:
        return _resend_credential(session, context_id, course, key)
    return _resend_stack(session, context_id, course, key)


def _resend_credential(session: Session, context_id: int, course: CourseMap, key: str) -> int:
    try:
        title = course.credential(key).title
    except KeyError:
        return 0
    rows = session.scalars(
        select(Submission).where(
            Submission.context_id == context_id,
            Submission.credential_key == key,
            Submission.state != SubmissionState.DRAFT.value,
        )
    ).all()
    for sub in rows:
        feedback = ""
        if sub.state != SubmissionState.SUBMITTED.value:
            feedback = (
                session.scalar(
                    select(Assessment.feedback)
                    .where(Assessment.submission_id == sub.id)
                    .order_by(Assessment.id.desc())
                    .limit(1)
                )
                or ""
            )
        outbox.enqueue(session, TOPIC_CREDENTIAL, credential_payload(sub, title, feedback))
    return len(rows)


def _resend_stack(session: Session, context_id: int, course: CourseMap, key: str) -> int:
    try:
        course.stack(key)
    except KeyError:
        return 0
    earned_by_user: dict[int, set[str]] = {}
    for user_id, credential_key in session.execute(
        select(Submission.user_id, Submission.credential_key).where(
            Submission.context_id == context_id,
            Submission.state == SubmissionState.EARNED.value,
        )
    ):
        earned_by_user.setdefault(user_id, set()).add(credential_key)
    granted = select(Grant.user_id, Grant.ceus).where(
        Grant.context_id == context_id,
        Grant.kind == STACK,
        Grant.target_key == key,
        Grant.revoked_at.is_(None),
    )
    ceus = {user_id: value for user_id, value in session.execute(granted)}
    sent = 0
    for user_id, earned in sorted(earned_by_user.items()):
        # Each learner's stack as the version they started it under defines it (services/learner_maps.py).
        stack = learner_course(session, context_id, user_id).course.stack(key)
        if not stack.rule.credential_ids & earned:
            continue
        done, needed = progress(stack, frozenset(earned))
        outbox.enqueue(
            session,
            TOPIC_STACK,
            stack_payload(context_id, user_id, course.id, key, stack.title, done, needed, ceus.get(user_id)),
        )
        sent += 1
    return sent


# --- retired columns ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class RetiredColumn:
    id: int
    context_id: int
    kind: str
    key: str
    lineitem_url: str
    created_by_tool: bool
    deleted: bool
    note: str
    title: str = ""


def retired_column(db: Database, retired_id: int) -> RetiredColumn | None:
    with db.read() as session:
        row = session.get(RetiredLineItem, retired_id)
        if row is None:
            return None
        return RetiredColumn(
            row.id,
            row.context_id,
            row.kind,
            row.key,
            row.lineitem_url,
            row.created_by_tool,
            row.deleted_at is not None,
            row.note,
        )


def retired_column_deleted(db: Database, retired_id: int) -> None:
    """The platform deleted the tool's old column (or had already)."""
    with db.transaction() as session:
        row = session.get(RetiredLineItem, retired_id)
        if row is None or row.deleted_at is not None:
            return
        row.deleted_at = utcnow()
        row.note = ""
        audit.record(
            session,
            action="gradebook.column_deleted",
            subject_type="line_item",
            subject_id=row.id,
            context_id=row.context_id,
            data={"kind": row.kind, "key": row.key, "lineitem_url": row.lineitem_url},
        )


def retired_column_kept(db: Database, retired_id: int, note: str) -> None:
    """The old column stays in the gradebook; ``note`` tells the designer why (shown on their page)."""
    with db.transaction() as session:
        row = session.get(RetiredLineItem, retired_id)
        if row is None or row.deleted_at is not None:
            return
        row.note = note
        audit.record(
            session,
            action="gradebook.column_kept",
            subject_type="line_item",
            subject_id=row.id,
            context_id=row.context_id,
            data={"kind": row.kind, "key": row.key, "lineitem_url": row.lineitem_url, "note": note},
        )

"""The append-only audit trail: who did what, when, under which course map version."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..db import Database
from ..db.models import AuditEvent, User


def record(
    session: Session,
    *,
    action: str,
    subject_type: str,
    subject_id: str | int,
    actor_user_id: int | None = None,
    actor: str | None = None,
    context_id: int | None = None,
    map_version_id: int | None = None,
    data: dict[str, Any] | None = None,
) -> AuditEvent:
    if actor is None:
        user = session.get(User, actor_user_id) if actor_user_id is not None else None
        actor = f"user:{user.id}:{user.name}" if user is not None else "system"
    event = AuditEvent(
        actor_user_id=actor_user_id,
        actor=actor,
        action=action,
        subject_type=subject_type,
        subject_id=str(subject_id),
        context_id=context_id,
        map_version_id=map_version_id,
        data=data or {},
    )
    session.add(event)
    return event


def events_for(db: Database, subject_type: str, subject_id: str | int) -> list[AuditEvent]:
    with db.read() as session:
        return list(
            session.scalars(
                select(AuditEvent)
                .where(AuditEvent.subject_type == subject_type, AuditEvent.subject_id == str(subject_id))
                .order_by(AuditEvent.id)
            )
        )

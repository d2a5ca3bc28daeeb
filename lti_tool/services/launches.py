"""Record a verified LTI launch: consume its state and nonce, upsert the user, the course context and the
membership, all in one transaction. A replay loses on the state's ``used_at`` guard or the nonces' unique
key and writes nothing.

Membership.roles holds the tool's roles (learner / assessor / designer), sorted.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..db import Database
from ..db.base import utcnow
from ..db.lti_models import OidcState, UsedNonce
from ..db.models import Context, Course, Deployment, Membership, User


class LaunchReplayed(Exception):
    """The launch's state or nonce was consumed by an earlier launch."""


@dataclass(frozen=True)
class LaunchFacts:
    platform_id: int
    deployment_id: str
    state_id: int
    nonce: str
    nonce_expires_at: datetime
    sub: str
    name: str
    email: str
    context_id: str
    context_title: str
    context_label: str
    course_map: str | None
    memberships_url: str | None
    lineitems_url: str | None
    roles: tuple[str, ...]


@dataclass(frozen=True)
class LaunchRecord:
    user_id: int
    deployment_pk: int
    context_pk: int
    course_key: str | None


def _insert(session: Session, model: Any) -> Any:
    dialect = session.get_bind().dialect.name
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(model)


def _upsert(
    session: Session, model: Any, values: dict[str, Any], keys: list[str], update_cols: list[str]
) -> int:
    stmt = _insert(session, model).values(**values)
    set_ = {col: stmt.excluded[col] for col in update_cols} or {keys[0]: stmt.excluded[keys[0]]}
    return int(
        session.execute(
            stmt.on_conflict_do_update(index_elements=keys, set_=set_).returning(model.id)
        ).scalar_one()
    )


def record_launch(db: Database, facts: LaunchFacts) -> LaunchRecord:
    now = utcnow()
    try:
        with db.transaction() as session:
            consumed = session.execute(
                update(OidcState)
                .where(OidcState.id == facts.state_id, OidcState.used_at.is_(None))
                .values(used_at=now)
            )
            if consumed.rowcount != 1:  # type: ignore[attr-defined]
                raise LaunchReplayed("state already used")
            session.add(
                UsedNonce(
                    platform_id=facts.platform_id,
                    nonce=facts.nonce,
                    used_at=now,
                    expires_at=facts.nonce_expires_at,
                )
            )
            session.flush()
            deployment_pk = session.scalar(
                select(Deployment.id).where(
                    Deployment.platform_id == facts.platform_id,
                    Deployment.deployment_id == facts.deployment_id,
                )
            )
            if deployment_pk is None:
                raise LookupError("deployment vanished during the launch")
            user_id = _upsert(
                session,
                User,
                {
                    "platform_id": facts.platform_id,
                    "sub": facts.sub,
                    "name": facts.name,
                    "email": facts.email,
                    "created_at": now,
                },
                ["platform_id", "sub"],
                ["name", "email"],
            )
            course_key = None
            if facts.course_map and session.get(Course, facts.course_map) is not None:
                course_key = facts.course_map
            context_values: dict[str, Any] = {
                "deployment_id": deployment_pk,
                "context_id": facts.context_id,
                "title": facts.context_title,
                "label": facts.context_label,
                "course_key": course_key,
                "memberships_url": facts.memberships_url,
                "lineitems_url": facts.lineitems_url,
                "created_at": now,
            }
            # Without a course_map parameter the context keeps the binding it has.
            update_cols = ["title", "label"] + (["course_key"] if course_key else [])
            update_cols += [k for k in ("memberships_url", "lineitems_url") if context_values[k]]
            context_pk = _upsert(
                session, Context, context_values, ["deployment_id", "context_id"], update_cols
            )
            _upsert(
                session,
                Membership,
                {
                    "context_id": context_pk,
                    "user_id": user_id,
                    "roles": sorted(facts.roles),
                    "status": "Active",
                    "source": "launch",
                    "last_launch_at": now,
                },
                ["context_id", "user_id"],
                ["roles", "status", "last_launch_at"],
            )
            bound = session.scalar(select(Context.course_key).where(Context.id == context_pk))
            return LaunchRecord(user_id, deployment_pk, context_pk, bound)
    except IntegrityError as exc:
        if "nonce" in str(exc.orig).lower() or "used_nonces" in str(exc.orig).lower():
            raise LaunchReplayed("nonce already used") from exc
        raise

"""Record an accepted LTI launch in the caller's transaction: its nonce, the user, the course context and
the membership (``lti.accept.accept_launch`` verifies the launch and consumes its state first). A refused
launch rolls the transaction back and writes nothing; a replay loses on the state's ``used_at`` guard or
the nonces' unique key.

Each write is one statement (``INSERT ... ON CONFLICT ... RETURNING``), built once per dialect: a warm
launch is one transaction of six statements, with no SELECT-then-INSERT round trips.
Membership.roles holds the tool's roles (learner / assessor / designer), sorted.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Executable, String, bindparam, func, literal, select, true
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from ..db.lti_models import UsedNonce
from ..db.models import Context, Course, Membership, User


class NonceReplayed(Exception):
    """The launch's nonce was recorded before: the caller refuses the launch (the transaction rolls back)."""


@dataclass(frozen=True)
class LaunchFacts:
    platform_id: int
    deployment_pk: int
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


def _build(dialect: str) -> dict[str, Executable]:
    # Typed as Any: the two dialects' insert() builders share the API but not a static type.
    insert: Any = postgresql.insert if dialect == "postgresql" else sqlite.insert
    contexts, courses = Context.__table__, Course.__table__
    nonce = (
        insert(UsedNonce.__table__)
        .values(
            platform_id=bindparam("platform_id"),
            nonce=bindparam("nonce"),
            used_at=bindparam("now"),
            expires_at=bindparam("expires_at"),
        )
        .on_conflict_do_nothing(index_elements=["platform_id", "nonce"])
        .returning(UsedNonce.__table__.c.id)
    )
    user = insert(User.__table__).values(
        platform_id=bindparam("platform_id"),
        sub=bindparam("sub"),
        name=bindparam("name"),
        email=bindparam("email"),
        created_at=bindparam("now"),
    )
    user = user.on_conflict_do_update(
        index_elements=["platform_id", "sub"],
        set_={"name": user.excluded.name, "email": user.excluded.email},
    ).returning(User.__table__.c.id)
    # The course is bound only when the course_map parameter names a loaded course; without one the
    # context keeps the binding (and service URLs) it has.
    context = insert(Context.__table__).values(
        deployment_id=bindparam("deployment_pk"),
        context_id=bindparam("context_id"),
        title=bindparam("title"),
        label=bindparam("label"),
        course_key=select(courses.c.key).where(courses.c.key == bindparam("course_map")).scalar_subquery(),
        memberships_url=bindparam("memberships_url"),
        lineitems_url=bindparam("lineitems_url"),
        created_at=bindparam("now"),
    )
    ex = context.excluded
    context = context.on_conflict_do_update(
        index_elements=["deployment_id", "context_id"],
        set_={
            "title": ex.title,
            "label": ex.label,
            "course_key": func.coalesce(ex.course_key, contexts.c.course_key),
            "memberships_url": func.coalesce(ex.memberships_url, contexts.c.memberships_url),
            "lineitems_url": func.coalesce(ex.lineitems_url, contexts.c.lineitems_url),
        },
    ).returning(contexts.c.id, contexts.c.course_key)
    membership = insert(Membership.__table__).values(
        context_id=bindparam("context_pk"),
        user_id=bindparam("user_id"),
        roles=bindparam("roles", type_=Membership.__table__.c.roles.type),
        status="Active",
        source="launch",
        last_launch_at=bindparam("now"),
    )
    ex = membership.excluded
    membership = membership.on_conflict_do_update(
        index_elements=["context_id", "user_id"],
        set_={"roles": ex.roles, "status": ex.status, "last_launch_at": ex.last_launch_at},
    )
    built: dict[str, Executable] = {
        "nonce": nonce,
        "user": user,
        "context": context,
        "membership": membership,
    }
    if dialect == "postgresql":
        built["all"] = _combined_pg(nonce, user, context)
    return built


def _combined_pg(nonce: Any, user: Any, context: Any) -> Executable:
    """PostgreSQL: the four writes as one statement (data-modifying CTEs), one round trip instead of four.
    Every CTE runs; a replayed nonce (no id back) makes the caller raise, which rolls all of it back."""
    memberships: Any = Membership.__table__
    n, u, cx = nonce.cte("n"), user.cte("u"), context.cte("cx")
    rows = select(
        cx.c.id,
        u.c.id,
        bindparam("roles", type_=memberships.c.roles.type),
        literal("Active", type_=String),
        literal("launch", type_=String),
        bindparam("now", type_=memberships.c.last_launch_at.type),
    ).select_from(cx.join(u, true()))
    m = postgresql.insert(memberships).from_select(
        ["context_id", "user_id", "roles", "status", "source", "last_launch_at"], rows
    )
    ex = m.excluded
    m_cte = (
        m.on_conflict_do_update(
            index_elements=["context_id", "user_id"],
            set_={"roles": ex.roles, "status": ex.status, "last_launch_at": ex.last_launch_at},
        )
        .returning(memberships.c.id)
        .cte("m")
    )
    return select(
        select(n.c.id).scalar_subquery(),
        u.c.id,
        cx.c.id,
        cx.c.course_key,
        select(func.count()).select_from(m_cte).scalar_subquery(),
    ).select_from(u.join(cx, true()))


_STATEMENTS: dict[str, dict[str, Executable]] = {}


def _statements(conn: Connection) -> dict[str, Executable]:
    dialect = conn.dialect.name
    built = _STATEMENTS.get(dialect)
    if built is None:
        built = _STATEMENTS[dialect] = _build(dialect)
    return built


def record_launch(session: Session, facts: LaunchFacts, now: datetime) -> LaunchRecord:
    """The launch's writes, in the caller's transaction (after ``verify_launch`` consumed the state)."""
    # Core statements on the session's connection: no ORM unit of work for rows we never load.
    conn = session.connection()
    stmts = _statements(conn)
    if "all" in stmts:
        nonce_id, user_id, context_pk, course_key, _members = conn.execute(
            stmts["all"],
            {
                "platform_id": facts.platform_id,
                "nonce": facts.nonce,
                "now": now,
                "expires_at": facts.nonce_expires_at,
                "sub": facts.sub,
                "name": facts.name,
                "email": facts.email,
                "deployment_pk": facts.deployment_pk,
                "context_id": facts.context_id,
                "title": facts.context_title,
                "label": facts.context_label,
                "course_map": facts.course_map,
                "memberships_url": facts.memberships_url,
                "lineitems_url": facts.lineitems_url,
                "roles": sorted(facts.roles),
            },
        ).one()
        if nonce_id is None:
            raise NonceReplayed()
        return LaunchRecord(int(user_id), facts.deployment_pk, int(context_pk), course_key)
    inserted = conn.execute(
        stmts["nonce"],
        {
            "platform_id": facts.platform_id,
            "nonce": facts.nonce,
            "now": now,
            "expires_at": facts.nonce_expires_at,
        },
    ).first()
    if inserted is None:
        raise NonceReplayed()
    user_id = conn.execute(
        stmts["user"],
        {
            "platform_id": facts.platform_id,
            "sub": facts.sub,
            "name": facts.name,
            "email": facts.email,
            "now": now,
        },
    ).scalar_one()
    context_pk, course_key = conn.execute(
        stmts["context"],
        {
            "deployment_pk": facts.deployment_pk,
            "context_id": facts.context_id,
            "title": facts.context_title,
            "label": facts.context_label,
            "course_map": facts.course_map,
            "memberships_url": facts.memberships_url,
            "lineitems_url": facts.lineitems_url,
            "now": now,
        },
    ).one()
    conn.execute(
        stmts["membership"],
        {"context_pk": context_pk, "user_id": user_id, "roles": sorted(facts.roles), "now": now},
    )
    return LaunchRecord(int(user_id), facts.deployment_pk, int(context_pk), course_key)

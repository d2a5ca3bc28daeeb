"""Record an accepted LTI launch: its nonce, the user, the course context, the membership and a resource
link's placement. ``record_launch`` writes them in the caller's transaction (``lti.accept.accept_launch``
verifies the launch and consumes its state first); a refused launch rolls the transaction back and writes
nothing; a replay loses on the state's ``used_at`` guard or the nonces' unique key.

Each write is one statement (``INSERT ... ON CONFLICT ... RETURNING``), built once per dialect, with no
SELECT-then-INSERT round trips (a teacher's launch reads the course's editors list too). On PostgreSQL the
writes are one statement (``launch_writes_pg``), gated on a CTE: in ``record_launch`` a constant row, in
``lti.launch_statement`` the consumption of the login's state, so that a whole launch is one autocommitted
statement. Membership.roles holds the tool's roles (learner / assessor / designer) the course gives now,
sorted: designer for a listed editor (``services.editors``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Connection,
    Executable,
    String,
    and_,
    bindparam,
    case,
    func,
    literal,
    select,
    true,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from ..db.learner_standing import LearnerStanding, standing_in_statement, standing_of
from ..db.lti_models import UsedNonce
from ..db.models import Context, Course, Membership, User
from . import editors
from .placements import (
    PlacementFacts,
    placement_message_from,
    placement_params,
    placement_upsert_from,
    record_placement,
)


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
    # An Instructor's Deep Linking request: the platform lets this person edit the course (services.editors).
    deep_linking_instructor: bool = False
    ags_scopes: str | None = None  # the AGS claim's scopes, sorted, space-separated; None without a claim
    placement: PlacementFacts | None = None  # a resource-link launch's placement (services.placements)


@dataclass(frozen=True)
class LaunchRecord:
    user_id: int
    deployment_pk: int
    context_pk: int
    course_key: str | None
    # The roles the course gives now: the platform's, plus designer for a listed editor (services.editors).
    roles: frozenset[str] = frozenset()
    # The learner's standing after the launch, when the launch's statement read it (lti.launch_statement):
    # their progress page needs no read of its own (services.progress.learner_overview).
    standing: LearnerStanding | None = None


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
    # Without a course_map parameter the context keeps the binding (and service URLs) it has.
    context = insert(Context.__table__).values(
        deployment_id=bindparam("deployment_pk"),
        context_id=bindparam("context_id"),
        title=bindparam("title"),
        label=bindparam("label"),
        course_key=select(courses.c.key).where(courses.c.key == bindparam("course_map")).scalar_subquery(),
        memberships_url=bindparam("memberships_url"),
        lineitems_url=bindparam("lineitems_url"),
        ags_scopes=bindparam("ags_scopes"),
        created_at=bindparam("now"),
    )
    context = context.on_conflict_do_update(
        index_elements=["deployment_id", "context_id"], set_=_context_updates(context.excluded)
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
        always = select(literal(1).label("one")).cte("go")
        built["all"] = launch_writes_pg(always, placed=False)
        built["all_placed"] = launch_writes_pg(always, placed=True)
    return built


def launch_writes_pg(gate: Any, *, placed: bool, with_standing: bool = False) -> Any:
    """PostgreSQL: the launch's writes as one statement (data-modifying CTEs), one round trip instead of
    four: the nonce, then the user, context and membership, and with ``placed`` a resource-link launch's
    placement (``services.placements``) and, when that placement is new or changed and offers a column, its
    ``gradebook.placement`` outbox message.

    ``gate`` is a CTE of at most one row: nothing is written unless it has its row (``lti.launch_statement``
    gates the writes on the login state it consumes in the same statement), and nothing but the nonce unless
    the nonce is new (a replay). The statement returns one row (nonce id, user id, context id, course key;
    with ``with_standing`` a row per part of the standing, those four first) or, when the gate or the nonce
    stopped it, none. Parameters:
    ``launch_write_params``; none is named like a column of oidc_states (``l_nonce``, not ``nonce``), so a
    gate that updates that table is not given values to write (SQLAlchemy takes an execution parameter
    named like a column of an UPDATE as a value to SET)."""
    nonces: Any = UsedNonce.__table__
    users: Any = User.__table__
    contexts: Any = Context.__table__
    courses: Any = Course.__table__
    memberships: Any = Membership.__table__
    n = (
        _insert_parameters(
            nonces,
            {
                "platform_id": "l_platform_id",
                "nonce": "l_nonce",
                "used_at": "now",
                "expires_at": "l_expires_at",
            },
            gate,
        )
        .on_conflict_do_nothing(index_elements=["platform_id", "nonce"])
        .returning(nonces.c.id)
        .cte("n")
    )
    user = _insert_parameters(
        users,
        {"platform_id": "l_platform_id", "sub": "sub", "name": "name", "email": "email", "created_at": "now"},
        n,
    )
    u = (
        user.on_conflict_do_update(
            index_elements=["platform_id", "sub"],
            set_={"name": user.excluded.name, "email": user.excluded.email},
        )
        .returning(users.c.id)
        .cte("u")
    )
    context = _insert_parameters(
        contexts,
        {
            "deployment_id": "deployment_pk",
            "context_id": "context_id",
            "title": "title",
            "label": "label",
            # A course_map parameter binds only a map that is loaded.
            "course_key": select(courses.c.key)
            .where(courses.c.key == bindparam("course_map"))
            .scalar_subquery(),
            "memberships_url": "memberships_url",
            "lineitems_url": "lineitems_url",
            "ags_scopes": "ags_scopes",
            "created_at": "now",
        },
        n,
    )
    cx = (
        context.on_conflict_do_update(
            index_elements=["deployment_id", "context_id"], set_=_context_updates(context.excluded)
        )
        .returning(contexts.c.id, contexts.c.course_key)
        .cte("cx")
    )
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
    written = [
        m.on_conflict_do_update(
            index_elements=["context_id", "user_id"],
            set_={"roles": ex.roles, "status": ex.status, "last_launch_at": ex.last_launch_at},
        ).cte("m")
    ]
    if placed:
        # The placement's upsert returns a row only when the placement is new or changed: its message then.
        p_cte = placement_upsert_from(cx.c.id).cte("p")
        written += [p_cte, placement_message_from(p_cte, cx).cte("o")]
    columns = [n.c.id, u.c.id, cx.c.id, cx.c.course_key]
    joined = n.join(u, true()).join(cx, true())
    if with_standing:
        # The learner's standing in the course after this launch (their progress page's one read), a row
        # per part: the launch's columns repeat on each (``launch_record_of``).
        standing = standing_in_statement(cx, u)
        columns += list(standing.c)
        joined = joined.join(standing, true())
    # Read by nothing: add_cte renders them (a data-modifying CTE runs whether read or not).
    return select(*columns).select_from(joined).add_cte(*written)


def _insert_parameters(table: Any, values: dict[str, Any], source: Any) -> Any:
    """PostgreSQL ``INSERT INTO table (columns) SELECT <values> FROM source``: one row per row of
    ``source`` (the statement's gate: none, nothing written). A string value names the parameter bound to
    that column, typed as the column; anything else is an SQL expression."""
    row = [
        bindparam(value, type_=table.c[column].type) if isinstance(value, str) else value
        for column, value in values.items()
    ]
    return postgresql.insert(table).from_select(list(values), select(*row).select_from(source))


def _context_updates(ex: Any) -> dict[str, Any]:
    """What a launch changes on a known context. Which map a course follows is its designer's choice: a
    placement's course_map parameter binds only a course that is not bound yet, never rebinds one; when it
    names another map than the binding, the value and the time are kept so the designer's page warns."""
    contexts = Context.__table__
    disagrees = and_(
        ex.course_key.is_not(None),
        contexts.c.course_key.is_not(None),
        ex.course_key != contexts.c.course_key,
    )
    return {
        "title": ex.title,
        "label": ex.label,
        "course_key": func.coalesce(contexts.c.course_key, ex.course_key),
        "disagreeing_course_map": case((disagrees, ex.course_key), else_=contexts.c.disagreeing_course_map),
        "disagreeing_course_map_at": case(
            (disagrees, ex.created_at), else_=contexts.c.disagreeing_course_map_at
        ),
        "memberships_url": func.coalesce(ex.memberships_url, contexts.c.memberships_url),
        "lineitems_url": func.coalesce(ex.lineitems_url, contexts.c.lineitems_url),
        "ags_scopes": func.coalesce(ex.ags_scopes, contexts.c.ags_scopes),
    }


_STATEMENTS: dict[str, dict[str, Executable]] = {}


def _statements(conn: Connection) -> dict[str, Executable]:
    dialect = conn.dialect.name
    built = _STATEMENTS.get(dialect)
    if built is None:
        built = _STATEMENTS[dialect] = _build(dialect)
    return built


def record_launch(session: Session, facts: LaunchFacts, now: datetime) -> LaunchRecord:
    """The launch's writes, in the caller's transaction (after ``verify_launch`` consumed the state).

    The membership stores the roles the course gives: a listed editor who teaches there designs, and an
    Instructor's Deep Linking request joins the editors list (``services.editors``).
    """
    roles, joins = editors.launch_roles(
        session,
        platform_id=facts.platform_id,
        deployment_pk=facts.deployment_pk,
        context_id=facts.context_id,
        sub=facts.sub,
        roles=facts.roles,
        deep_linking_instructor=facts.deep_linking_instructor,
    )
    record = _record_rows(session, replace(facts, roles=tuple(sorted(roles))), now)
    if joins:
        editors.join_by_deep_linking(session, record.context_pk, record.user_id, now)
    return replace(record, roles=roles)


def launch_write_params(facts: LaunchFacts, now: datetime) -> dict[str, Any]:
    """The parameters of ``launch_writes_pg`` for these facts (placement ones included when placed)."""
    placement = facts.placement
    return {
        **(placement_params(placement) if placement is not None else {}),
        "l_platform_id": facts.platform_id,
        "l_nonce": facts.nonce,
        "now": now,
        "l_expires_at": facts.nonce_expires_at,
        "sub": facts.sub,
        "name": facts.name,
        "email": facts.email,
        **_context_params(facts, now),
        "roles": sorted(facts.roles),
    }


def _context_params(facts: LaunchFacts, now: datetime) -> dict[str, Any]:
    return {
        "deployment_pk": facts.deployment_pk,
        "context_id": facts.context_id,
        "title": facts.context_title,
        "label": facts.context_label,
        "course_map": facts.course_map,
        "memberships_url": facts.memberships_url,
        "lineitems_url": facts.lineitems_url,
        "ags_scopes": facts.ags_scopes,
        "now": now,
    }


def launch_record_of(rows: Sequence[Any], facts: LaunchFacts, *, with_standing: bool = False) -> LaunchRecord:
    """The record from ``launch_writes_pg``'s rows (at least one; the roles the facts carry), with the
    learner's standing when the statement read it."""
    _nonce_id, user_id, context_pk, course_key = rows[0][:4]
    return LaunchRecord(
        int(user_id),
        facts.deployment_pk,
        int(context_pk),
        course_key,
        frozenset(facts.roles),
        standing_of(row[4:] for row in rows) if with_standing else None,
    )


def _record_rows(session: Session, facts: LaunchFacts, now: datetime) -> LaunchRecord:
    # Core statements on the session's connection: no ORM unit of work for rows we never load.
    conn = session.connection()
    stmts = _statements(conn)
    if "all" in stmts:
        row = conn.execute(
            stmts["all" if facts.placement is None else "all_placed"], launch_write_params(facts, now)
        ).first()
        if row is None:  # the nonce was there: nothing else was written
            raise NonceReplayed()
        return launch_record_of([row], facts)
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
    context_pk, course_key = conn.execute(stmts["context"], _context_params(facts, now)).one()
    conn.execute(
        stmts["membership"],
        {"context_pk": context_pk, "user_id": user_id, "roles": sorted(facts.roles), "now": now},
    )
    if facts.placement is not None:
        record_placement(session, int(context_pk), facts.placement, now)
    return LaunchRecord(int(user_id), facts.deployment_pk, int(context_pk), course_key)

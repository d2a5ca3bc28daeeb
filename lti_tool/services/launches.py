"""Accept an LTI launch in one transaction: verify it and consume its state (``lti.launch.verify_launch``),
record its nonce, upsert the user, the course context and the membership. A refused launch rolls the
transaction back and writes nothing; a replay loses on the state's ``used_at`` guard or the nonces'
unique key.

Each write is one statement (``INSERT ... ON CONFLICT ... RETURNING``), built once per dialect: a warm
launch is one transaction of six statements, with no SELECT-then-INSERT round trips.
Membership.roles holds the tool's roles (learner / assessor / designer), sorted.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from jwt import PyJWK
from sqlalchemy import Connection, Executable, String, bindparam, func, literal, select, true
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from ..db import Database
from ..db.base import utcnow
from ..db.lti_models import UsedNonce
from ..db.models import Context, Course, Membership, User
from ..lti import claims as c
from ..lti.errors import LtiRefused
from ..lti.jwks_cache import PlatformKeyCache
from ..lti.launch import KeyNotCached, VerifiedLaunch, verify_launch


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


def facts_of(launch: VerifiedLaunch) -> LaunchFacts:
    claims = launch.claims
    context = launch.context
    ags_claim, nrps_claim = claims.get(c.AGS_ENDPOINT), claims.get(c.NRPS)
    ags: dict[str, Any] = ags_claim if isinstance(ags_claim, dict) else {}
    nrps: dict[str, Any] = nrps_claim if isinstance(nrps_claim, dict) else {}
    name = claims.get("name") or " ".join(
        str(claims[k]) for k in ("given_name", "family_name") if claims.get(k)
    )
    memberships_url = nrps.get("context_memberships_url")
    lineitems_url = ags.get("lineitems")
    return LaunchFacts(
        platform_id=launch.platform_id,
        deployment_pk=launch.deployment_pk,
        nonce=launch.nonce,
        nonce_expires_at=launch.nonce_expires_at,
        sub=str(claims["sub"]),
        name=str(name or "")[:255],
        email=str(claims.get("email") or "")[:255],
        context_id=str(context["id"]),
        context_title=str(context.get("title") or "")[:255],
        context_label=str(context.get("label") or "")[:255],
        course_map=launch.custom.get("course_map") or None,
        memberships_url=str(memberships_url) if memberships_url else None,
        lineitems_url=str(lineitems_url) if lineitems_url else None,
        roles=tuple(sorted(launch.roles)),
    )


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
            raise LtiRefused(
                "nonce", "lti_replay", "This launch was already used; a launch can be used once."
            )
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
        raise LtiRefused("nonce", "lti_replay", "This launch was already used; a launch can be used once.")
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


def accept_launch(
    db: Database,
    keys: PlatformKeyCache,
    id_token: str,
    state: str,
    state_cookie: str | None = None,
    now: datetime | None = None,
) -> tuple[VerifiedLaunch, LaunchRecord]:
    """Verify and record a launch in one transaction; raises LtiRefused (nothing written) when refused.

    The platform's key comes from process memory. When it is not there (first launch of this process,
    expired set, rotated kid) the transaction is rolled back, the key is fetched outside it (never holding
    a write lock across HTTP), and the launch runs again with that key.
    """
    fetched: dict[tuple[int, str, str], PyJWK] = {}

    def key_lookup(platform_id: int, jwks_url: str, kid: str) -> PyJWK:
        key = fetched.get((platform_id, jwks_url, kid)) or keys.cached(platform_id, jwks_url, kid)
        if key is None:
            raise KeyNotCached(platform_id, jwks_url, kid)
        return key

    for _attempt in range(3):
        try:
            with db.transaction() as session:
                when = now or utcnow()
                verified = verify_launch(session, key_lookup, id_token, state, state_cookie, when)
                return verified, record_launch(session, facts_of(verified), when)
        except KeyNotCached as miss:
            # key_for refuses (check=signature) when the platform lacks the kid even after a refresh.
            fetched[(miss.platform_id, miss.jwks_url, miss.kid)] = keys.key_for(
                miss.platform_id, miss.jwks_url, miss.kid
            )
    # Only when the platform's key set URL changed under the launch, twice over.
    raise LtiRefused(
        "signature",
        "lti_jwks_unavailable",
        "The platform's public key set changed during the launch; try the launch again in a moment.",
        status=502,
    )

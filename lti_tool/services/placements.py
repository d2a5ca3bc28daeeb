"""Placements: where the tool sits in a course (a resource link), what it shows there (its custom ``stack``
or ``credential``) and the gradebook column the platform offers for it (the AGS claim's ``lineitem``).

Every resource-link launch records its placement in the launch's transaction (``services.launches``), one
``INSERT ... ON CONFLICT DO UPDATE ... WHERE <something changed> RETURNING`` statement. A placement that is
new or changed and offers a column for a credential or stack writes a ``gradebook.placement`` outbox
message, whose handler makes that column the credential's or stack's one
(``column_adoption.adopt_placement``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Executable, String, and_, bindparam, false, func, literal, or_, select, true
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from ..db.lti_service_models import Placement
from ..db.models import OutboxMessage
from . import outbox

TOPIC_PLACEMENT = "gradebook.placement"
TARGET_KINDS = ("stack", "credential")


@dataclass(frozen=True)
class PlacementFacts:
    """What one resource-link launch says about its placement."""

    resource_link_id: str
    target_kind: str | None  # stack | credential | None (a link that names neither)
    target_key: str | None
    lineitem_url: str | None  # the AGS claim's lineitem: the placement's own gradebook column
    ags_scopes: str | None  # the AGS claim's scopes, sorted and space-separated; None without a claim
    graded: bool = True  # False: placed without a grade column (custom gradebook=none, see domain.placements)


_STATEMENTS: dict[str, Executable] = {}
_CHANGING = ("target_kind", "target_key", "lineitem_url", "ags_scopes", "graded")


def _upsert(stmt: Any) -> Any:
    """The insert's ``ON CONFLICT``: launches of an unchanged placement write nothing and return no row."""
    table, ex = Placement.__table__, stmt.excluded
    return stmt.on_conflict_do_update(
        index_elements=["context_id", "resource_link_id"],
        set_={**{name: ex[name] for name in _CHANGING}, "updated_at": ex.updated_at},
        where=or_(*(table.c[name].is_distinct_from(ex[name]) for name in _CHANGING)),
    ).returning(table.c.id)


def _statement(dialect: str) -> Executable:
    cached = _STATEMENTS.get(dialect)
    if cached is not None:
        return cached
    insert: Any = postgresql.insert if dialect == "postgresql" else sqlite.insert
    values: dict[str, Any] = {name: bindparam("p_" + name) for name in _CHANGING}
    stmt = insert(Placement.__table__).values(
        context_id=bindparam("context_pk"),
        resource_link_id=bindparam("p_resource_link_id"),
        created_at=bindparam("now"),
        updated_at=bindparam("now"),
        **values,
    )
    built: Executable = _upsert(stmt)
    _STATEMENTS[dialect] = built
    return built


def placement_upsert_from(context_pk: Any) -> Any:
    """PostgreSQL: the same upsert for a statement that makes the context itself (``services.launches``
    folds it into the launch's one statement): ``context_pk`` is that statement's column of the context's
    id. Parameters: ``placement_params``; the CTE made of it returns a row when the placement changed."""
    columns = ["context_id", "resource_link_id", *_CHANGING, "created_at", "updated_at"]
    table: Any = Placement.__table__
    rows = select(
        context_pk,
        bindparam("p_resource_link_id", type_=table.c.resource_link_id.type),
        *(bindparam("p_" + name, type_=table.c[name].type) for name in _CHANGING),
        bindparam("now", type_=table.c.created_at.type),
        bindparam("now", type_=table.c.updated_at.type),
    )
    return _upsert(postgresql.insert(table).from_select(columns, rows))


def placement_message_from(changed: Any, context: Any) -> Any:
    """PostgreSQL: ``placement_recorded``'s outbox message as an insert for the launch's one statement:
    ``changed`` is the CTE of ``placement_upsert_from`` (a row when the placement is new or changed),
    ``context`` the statement's CTE of the context's row (its ``id``). Written only when the placement names a
    credential or stack and offers a column, as ``placement_recorded`` does."""
    table: Any = OutboxMessage.__table__
    offers_column = and_(
        bindparam("p_target_kind", type_=String).is_not(None),
        bindparam("p_target_key", type_=String).is_not(None),
        bindparam("p_lineitem_url", type_=String).is_not(None),
    )
    payload = func.json_build_object(
        "context_id",
        context.c.id,
        "kind",
        bindparam("p_target_kind", type_=String),
        "key",
        bindparam("p_target_key", type_=String),
        type_=table.c.payload.type,
    )
    rows = (
        select(
            literal(TOPIC_PLACEMENT, type_=String),
            payload,
            bindparam("now", type_=table.c.created_at.type),
            bindparam("now", type_=table.c.available_at.type),
            literal(0),
            false(),
        )
        .select_from(changed.join(context, true()))
        .where(offers_column)
    )
    return (
        postgresql.insert(table)
        .from_select(["topic", "payload", "created_at", "available_at", "attempts", "dead"], rows)
        .returning(table.c.id)
    )


def placement_params(facts: PlacementFacts) -> dict[str, Any]:
    return {
        "p_resource_link_id": facts.resource_link_id,
        "p_target_kind": facts.target_kind,
        "p_target_key": facts.target_key,
        "p_lineitem_url": facts.lineitem_url,
        "p_ags_scopes": facts.ags_scopes,
        "p_graded": facts.graded,
    }


def record_placement(session: Session, context_pk: int, facts: PlacementFacts, now: datetime) -> bool:
    """Record the launch's placement in the caller's transaction; True when it is new or changed."""
    conn = session.connection()
    changed = (
        conn.execute(
            _statement(conn.dialect.name), {"context_pk": context_pk, "now": now, **placement_params(facts)}
        ).first()
        is not None
    )
    placement_recorded(session, context_pk, facts, changed)
    return changed


def placement_recorded(session: Session, context_pk: int, facts: PlacementFacts, changed: bool) -> None:
    """After the upsert (``changed``: new or changed): a new or changed placement that offers a column for
    a credential or stack asks the worker to adopt that column."""
    if changed and facts.target_kind and facts.target_key and facts.lineitem_url:
        outbox.enqueue(
            session,
            TOPIC_PLACEMENT,
            {"context_id": context_pk, "kind": facts.target_kind, "key": facts.target_key},
        )

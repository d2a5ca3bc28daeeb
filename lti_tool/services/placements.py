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

from sqlalchemy import Executable, bindparam, or_
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from ..db.lti_service_models import Placement
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


def _statement(dialect: str) -> Executable:
    cached = _STATEMENTS.get(dialect)
    if cached is not None:
        return cached
    insert: Any = postgresql.insert if dialect == "postgresql" else sqlite.insert
    table = Placement.__table__
    stmt = insert(table).values(
        context_id=bindparam("context_pk"),
        resource_link_id=bindparam("resource_link_id"),
        target_kind=bindparam("target_kind"),
        target_key=bindparam("target_key"),
        lineitem_url=bindparam("lineitem_url"),
        ags_scopes=bindparam("ags_scopes"),
        graded=bindparam("graded"),
        created_at=bindparam("now"),
        updated_at=bindparam("now"),
    )
    ex = stmt.excluded
    changing = ("target_kind", "target_key", "lineitem_url", "ags_scopes", "graded")
    built: Executable = stmt.on_conflict_do_update(
        index_elements=["context_id", "resource_link_id"],
        set_={**{name: ex[name] for name in changing}, "updated_at": ex.updated_at},
        # Launches of an unchanged placement write nothing and return no row.
        where=or_(*(table.c[name].is_distinct_from(ex[name]) for name in changing)),
    ).returning(table.c.id)
    _STATEMENTS[dialect] = built
    return built


def record_placement(session: Session, context_pk: int, facts: PlacementFacts, now: datetime) -> bool:
    """Record the launch's placement in the caller's transaction; True when it is new or changed."""
    conn = session.connection()
    changed = (
        conn.execute(
            _statement(conn.dialect.name),
            {
                "context_pk": context_pk,
                "resource_link_id": facts.resource_link_id,
                "target_kind": facts.target_kind,
                "target_key": facts.target_key,
                "lineitem_url": facts.lineitem_url,
                "ags_scopes": facts.ags_scopes,
                "graded": facts.graded,
                "now": now,
            },
        ).first()
        is not None
    )
    if changed and facts.target_kind and facts.target_key and facts.lineitem_url:
        outbox.enqueue(
            session,
            TOPIC_PLACEMENT,
            {"context_id": context_pk, "kind": facts.target_kind, "key": facts.target_key},
        )
    return changed

"""Insert a row unless its live twin exists: ``INSERT ... ON CONFLICT DO NOTHING RETURNING id`` on the
partial unique index over unrevoked rows (grants, awards). The database decides, not a check-then-insert."""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

LEARNER_TARGET = ["context_id", "user_id", "kind", "target_key"]


def insert_live_once(session: Session, model: Any, values: dict[str, Any]) -> int | None:
    """The new row's id, or None when a live row with the same (context, learner, kind, target) exists."""
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    stmt = (
        insert(model)
        .values(**values)
        .on_conflict_do_nothing(index_elements=LEARNER_TARGET, index_where=model.revoked_at.is_(None))
        .returning(model.id)
    )
    new_id: int | None = session.execute(stmt).scalar()
    return new_id

"""A user's standing in a course, as the tool last learned it (launch or roster)."""

from __future__ import annotations

from sqlalchemy import bindparam, select

from ..db import Database
from ..db.models import Membership

_MEMBERSHIPS = Membership.__table__
# Asked on every signed-in request (web/auth.py): one Core statement, built once.
_ROLES = select(_MEMBERSHIPS.c.roles).where(
    _MEMBERSHIPS.c.context_id == bindparam("context_id"), _MEMBERSHIPS.c.user_id == bindparam("user_id")
)


def current_roles(db: Database, context_id: int, user_id: int) -> frozenset[str]:
    """The tool's roles (learner / assessor / designer) the course gives the user now; empty if none."""
    with db.read_connection() as conn:
        roles = conn.execute(_ROLES, {"context_id": context_id, "user_id": user_id}).scalar()
    return frozenset(str(r) for r in roles or ())

"""A user's standing in a course, as the tool last learned it (launch or roster)."""

from __future__ import annotations

from sqlalchemy import select

from ..db import Database
from ..db.models import Membership


def current_roles(db: Database, context_id: int, user_id: int) -> frozenset[str]:
    """The tool's roles (learner / assessor / designer) the course gives the user now; empty if none."""
    with db.read() as session:
        roles = session.scalar(
            select(Membership.roles).where(Membership.context_id == context_id, Membership.user_id == user_id)
        )
    return frozenset(str(r) for r in roles or ())

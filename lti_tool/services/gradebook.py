"""Where a course's gradebook lives: the platform, the learner's id there, and our remembered line items.

The AGS adapter (lti/ags.py) does the HTTP; this module only reads and writes our own rows, so a line
item found or created once is reused by every later score in that course.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from ..db import Database
from ..db.lti_service_models import LineItem
from ..db.models import Context, Deployment, User
from .errors import NotFound

CREDENTIAL = "credential"
STACK = "stack"


@dataclass(frozen=True)
class GradebookTarget:
    context_id: int
    platform_id: int
    lineitems_url: str | None
    user_sub: str


def target_for(db: Database, context_id: int, user_id: int) -> GradebookTarget:
    with db.read() as session:
        row = session.execute(
            select(Context.lineitems_url, Deployment.platform_id)
            .join(Deployment, Deployment.id == Context.deployment_id)
            .where(Context.id == context_id)
        ).one_or_none()
        if row is None:
            raise NotFound("unknown_context", f"Context {context_id} does not exist.")
        user = session.get(User, user_id)
        if user is None:
            raise NotFound("unknown_user", f"User {user_id} does not exist.")
        return GradebookTarget(
            context_id=context_id,
            platform_id=row.platform_id,
            lineitems_url=row.lineitems_url,
            user_sub=user.sub,
        )


def remembered_line_item(db: Database, context_id: int, kind: str, key: str) -> str | None:
    with db.read() as session:
        return session.scalar(
            select(LineItem.lineitem_url).where(
                LineItem.context_id == context_id, LineItem.kind == kind, LineItem.key == key
            )
        )


def remember_line_item(db: Database, context_id: int, kind: str, key: str, lineitem_url: str) -> str:
    """Store the line item; if another worker stored one first, theirs wins and is returned."""
    try:
        with db.transaction() as session:
            session.add(LineItem(context_id=context_id, kind=kind, key=key, lineitem_url=lineitem_url))
    except IntegrityError:
        existing = remembered_line_item(db, context_id, kind, key)
        if existing is not None:
            return existing
        raise
    return lineitem_url


def forget_line_item(db: Database, context_id: int, kind: str, key: str) -> None:
    """The platform no longer has it (a teacher deleted the column): the next score finds or makes one."""
    with db.transaction() as session:
        session.execute(
            delete(LineItem).where(
                LineItem.context_id == context_id, LineItem.kind == kind, LineItem.key == key
            )
        )

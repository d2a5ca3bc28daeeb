"""Where a course's gradebook lives and which column holds each credential and stack.

One credential or stack, one column. A placement of it (a resource link whose custom parameters name it)
whose launches offer a line item (the AGS claim's ``lineitem``) gives that column; otherwise the tool's own
column, found by its ``resourceId`` or created, remembered in ``line_items``. When a placement's column
appears for something that already had the tool's own, ``column_adoption.adopt_placement`` moves to it:
the old column is retired (deleted by the AGS adapter when the tool created it and may manage columns;
listed on the designer page otherwise) and every learner's current state is sent again, to the new column.

Scopes: the tool asks only for what the launch's AGS claim offered (per context and per placement). A
context recorded before that was known (``ags_scopes`` NULL) keeps the old behaviour, lineitem + score.

The AGS adapter (lti/ags.py) does the HTTP; this module only reads and writes our own rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..db import Database
from ..db.base import utcnow
from ..db.lti_service_models import LineItem, Placement
from ..db.models import Context, Deployment, Submission, User
from .errors import NotFound

CREDENTIAL = "credential"
STACK = "stack"

TOPIC_CREDENTIAL = "gradebook.credential"
TOPIC_STACK = "gradebook.stack"
TOPIC_RETIRE = "gradebook.retire"

SCOPE_LINEITEM = "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem"
SCOPE_LINEITEM_READONLY = "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem.readonly"
SCOPE_SCORE = "https://purl.imsglobal.org/spec/lti-ags/scope/score"
# What a context recorded before the claim's scopes were kept was always asked for.
LEGACY_SCOPES = frozenset({SCOPE_LINEITEM, SCOPE_SCORE})


def scopes_of(value: str | None) -> frozenset[str]:
    """Stored scopes (space-separated) as a set; NULL (not known) as the legacy lineitem + score."""
    return LEGACY_SCOPES if value is None else frozenset(value.split())


@dataclass(frozen=True)
class GradebookTarget:
    context_id: int
    platform_id: int
    lineitems_url: str | None
    user_sub: str
    scopes: frozenset[str] = LEGACY_SCOPES  # what the course's last launch offered


@dataclass(frozen=True)
class Column:
    """Where one credential's or stack's scores go in a course."""

    lineitem_url: str | None  # None: the tool's own column is still to be found or created
    placed: bool  # lineitem_url is a placement's offered line item
    resource_link_id: str | None  # the first placement of it: a column the tool creates is bound to it
    scopes: frozenset[str]  # what the placement (or else the course) offered
    superseded: bool  # the tool still remembers its own column although a placement now offers one
    ungraded: bool = False  # every placement of it was placed without a column: none is made or scored


def target_for(db: Database, context_id: int, user_id: int) -> GradebookTarget:
    with db.read() as session:
        row = session.execute(
            select(Context.lineitems_url, Context.ags_scopes, Deployment.platform_id)
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
            scopes=scopes_of(row.ags_scopes),
        )


def platform_of(db: Database, context_id: int) -> int:
    with db.read() as session:
        platform_id = session.scalar(
            select(Deployment.platform_id)
            .join(Context, Context.deployment_id == Deployment.id)
            .where(Context.id == context_id)
        )
        if platform_id is None:
            raise NotFound("unknown_context", f"Context {context_id} does not exist.")
        return int(platform_id)


def context_scopes(db: Database, context_id: int) -> frozenset[str]:
    with db.read() as session:
        context = session.get(Context, context_id)
        if context is None:
            raise NotFound("unknown_context", f"Context {context_id} does not exist.")
        return scopes_of(context.ags_scopes)


def placements_for(session: Session, context_id: int, kind: str, key: str) -> list[Placement]:
    """The placements of one credential or stack, first placed first (the first one's column wins)."""
    return list(
        session.scalars(
            select(Placement)
            .where(
                Placement.context_id == context_id,
                Placement.target_kind == kind,
                Placement.target_key == key,
            )
            .order_by(Placement.id)
        )
    )


def own_line_item(session: Session, context_id: int, kind: str, key: str) -> LineItem | None:
    return session.scalar(
        select(LineItem).where(LineItem.context_id == context_id, LineItem.kind == kind, LineItem.key == key)
    )


def column_in(session: Session, context_id: int, kind: str, key: str) -> Column:
    context = session.get(Context, context_id)
    if context is None:
        raise NotFound("unknown_context", f"Context {context_id} does not exist.")
    placements = placements_for(session, context_id, kind, key)
    own = own_line_item(session, context_id, kind, key)
    offering = next((p for p in placements if p.lineitem_url), None)
    if offering is not None:
        assert offering.lineitem_url is not None
        return Column(
            lineitem_url=offering.lineitem_url,
            placed=True,
            resource_link_id=offering.resource_link_id,
            scopes=scopes_of(offering.ags_scopes if offering.ags_scopes is not None else context.ags_scopes),
            superseded=own is not None and own.lineitem_url != offering.lineitem_url,
        )
    first = placements[0] if placements else None
    if placements and not any(p.graded for p in placements):
        link = first.resource_link_id if first else None
        return Column(None, False, link, frozenset(), False, ungraded=True)
    return Column(
        lineitem_url=own.lineitem_url if own is not None else None,
        placed=False,
        resource_link_id=first.resource_link_id if first is not None else None,
        scopes=scopes_of(context.ags_scopes),
        superseded=False,
    )


def column_for(db: Database, context_id: int, kind: str, key: str) -> Column:
    """The column one credential's or stack's scores go to now: a placement's, else the tool's own."""
    with db.read() as session:
        return column_in(session, context_id, kind, key)


def remembered_line_item(db: Database, context_id: int, kind: str, key: str) -> str | None:
    """The line item to score: the first placement's offered one, else the tool's own (None: none yet)."""
    return column_for(db, context_id, kind, key).lineitem_url


def remember_line_item(
    db: Database, context_id: int, kind: str, key: str, lineitem_url: str, *, created: bool = False
) -> str:
    """Store the tool's own column (``created``: the tool POSTed it); if another worker stored one first,
    theirs wins and is returned. A placement's column, when there is one, still comes first."""
    try:
        with db.transaction() as session:
            session.add(
                LineItem(
                    context_id=context_id,
                    kind=kind,
                    key=key,
                    lineitem_url=lineitem_url,
                    created_by_tool=created,
                )
            )
    except IntegrityError:
        with db.read() as session:
            existing = own_line_item(session, context_id, kind, key)
            if existing is not None:
                return existing.lineitem_url
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


def placement_line_item_gone(db: Database, context_id: int, lineitem_url: str) -> None:
    """A placement's column answered 404 (the activity or its grade item was deleted): stop using it until
    a launch of that placement offers one again."""
    with db.transaction() as session:
        session.execute(
            update(Placement)
            .where(Placement.context_id == context_id, Placement.lineitem_url == lineitem_url)
            .values(lineitem_url=None, updated_at=utcnow())
        )


# --- the outbox messages of a learner's state -------------------------------------------------------


def credential_payload(sub: Submission, title: str, comment: str) -> dict[str, Any]:
    """A ``gradebook.credential`` message: one learner's state of one credential."""
    return {
        "context_id": sub.context_id,
        "user_id": sub.user_id,
        "course_key": sub.course_key,
        "credential_key": sub.credential_key,
        "title": title,
        "state": sub.state,
        "comment": comment,
        "timestamp": utcnow().isoformat(),
    }


def stack_payload(
    context_id: int,
    user_id: int,
    course_key: str,
    stack_key: str,
    title: str,
    done: int,
    needed: int,
    ceus: Any = None,
) -> dict[str, Any]:
    """A ``gradebook.stack`` message: one learner's progress in one stack (credentials that count)."""
    return {
        "context_id": context_id,
        "user_id": user_id,
        "course_key": course_key,
        "stack_key": stack_key,
        "title": title,
        "earned_count": done,
        "required_count": needed,
        "granted": done >= needed,
        "ceus": str(ceus) if ceus is not None else None,
        "timestamp": utcnow().isoformat(),
    }

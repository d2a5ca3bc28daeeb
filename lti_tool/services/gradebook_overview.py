"""What the course designer sees of the gradebook: where each stack's and credential's scores go, the
columns the tool cannot manage (score-only access, nothing placed), and old columns it could not delete."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from ..db import Database
from ..db.lti_service_models import Placement, RetiredLineItem
from ..db.models import Context
from .column_adoption import RetiredColumn
from .errors import CourseNotConfigured, NotFound
from .gradebook import CREDENTIAL, SCOPE_LINEITEM, SCOPE_SCORE, STACK, Column, column_in, scopes_of
from .scope import context_course


@dataclass(frozen=True)
class ColumnStatus:
    kind: str
    key: str
    title: str
    state: str  # placed | own | on_first_score | unmanaged | no_scores
    lineitem_url: str | None
    note: str


@dataclass(frozen=True)
class GradebookColumns:
    """The course's gradebook as the tool can use it: a row per stack and credential, the columns the
    tool cannot manage, and old columns it stopped writing to but could not delete."""

    offered: bool  # the platform offers AGS in this course
    can_manage: bool  # the lineitem scope: the tool may create (and delete its own) columns
    columns: list[ColumnStatus]
    left_behind: list[RetiredColumn]

    @property
    def cannot_manage(self) -> list[ColumnStatus]:
        return [c for c in self.columns if c.state in ("unmanaged", "no_scores")]


def columns_overview(db: Database, context_id: int) -> GradebookColumns:
    with db.read() as session:
        context = session.get(Context, context_id)
        if context is None:
            raise NotFound("unknown_context", "This course is not known to the tool.")
        offered = bool(context.lineitems_url) or bool(
            session.scalar(
                select(Placement.id)
                .where(Placement.context_id == context_id, Placement.lineitem_url.is_not(None))
                .limit(1)
            )
        )
        scopes = scopes_of(context.ags_scopes)
        can_manage = SCOPE_LINEITEM in scopes
        retired = session.scalars(
            select(RetiredLineItem)
            .where(RetiredLineItem.context_id == context_id, RetiredLineItem.deleted_at.is_(None))
            .order_by(RetiredLineItem.id)
        ).all()
        try:
            _, course, _ = context_course(session, context_id)
        except CourseNotConfigured:
            return GradebookColumns(offered, can_manage, [], [])
        targets = [(STACK, s.id, s.title) for s in course.stacks]
        targets += [(CREDENTIAL, c.id, c.title) for c in course.credentials]
        titles = {(kind, key): title for kind, key, title in targets}
        left = [
            RetiredColumn(
                r.id,
                r.context_id,
                r.kind,
                r.key,
                r.lineitem_url,
                r.created_by_tool,
                False,
                r.note,
                titles.get((r.kind, r.key), r.key),
            )
            for r in retired
        ]
        columns = [
            _status(kind, key, title, column_in(session, context_id, kind, key), bool(context.lineitems_url))
            for kind, key, title in targets
        ]
        return GradebookColumns(offered, can_manage, columns, left)


def _status(kind: str, key: str, title: str, column: Column, has_lineitems: bool) -> ColumnStatus:
    if SCOPE_SCORE not in column.scopes:
        note = "The LMS does not let the tool send scores here."
        return ColumnStatus(kind, key, title, "no_scores", column.lineitem_url, note)
    if column.placed:
        return ColumnStatus(kind, key, title, "placed", column.lineitem_url, "The placement's own column.")
    if column.lineitem_url:
        return ColumnStatus(kind, key, title, "own", column.lineitem_url, "A column the tool keeps.")
    if has_lineitems and SCOPE_LINEITEM in column.scopes:
        note = "The tool adds a column with the first score."
        return ColumnStatus(kind, key, title, "on_first_score", None, note)
    note = (
        "Not placed as a graded activity, and the LMS gives the tool score-only access: place it with "
        "'Select content' to give it a column."
    )
    return ColumnStatus(kind, key, title, "unmanaged", None, note)

"""A learner's standing in one course, as their progress page needs it, in ONE statement: the course the
context follows (its live map version), the map versions recorded for the stacks they started, their
submissions and their live grants (``services.progress.learner_overview``).

One statement, not one per table: it is one snapshot on its own (PostgreSQL and SQLite alike), so it needs
no transaction around it, and on PostgreSQL it is one round trip where a transaction of four reads was six
(``Database.read_one_statement``). The four parts are a ``UNION ALL`` of rows tagged by ``kind``, each
part filling the columns it has (typed NULLs elsewhere, so that both dialects give the values the ORM
would: ``Decimal`` with the column's scale, aware UTC datetimes).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, and_, bindparam, cast, literal_column, null, select, union_all
from sqlalchemy.types import String

from .models import Context, Course, CourseMapVersion, Grant, LearnerStackVersion, Submission


@dataclass(frozen=True)
class VersionRef:
    """A course map version by id, with the identity its parsed map is cached under (map_versions)."""

    version_id: int
    course_key: str
    content_hash: str


@dataclass(frozen=True)
class SubmissionRow:
    state: str
    attempt: int


@dataclass(frozen=True)
class GrantRow:
    """A live grant as the learner pages show it."""

    id: int
    kind: str
    target_key: str
    title: str
    contact_hours: Decimal
    ceus: Decimal
    map_version_id: int
    granted_at: datetime


@dataclass(frozen=True)
class LearnerStanding:
    course_key: str | None  # the course map the context follows; None: not bound yet
    live: VersionRef | None  # that course's current version; None: none loaded
    recorded: dict[str, VersionRef]  # stack key -> the version recorded when the learner started it
    submissions: dict[str, SubmissionRow]  # credential key -> the learner's submission
    grants: list[GrantRow]  # live (unrevoked) grants under the course map the context follows


_CO, _V = Course.__table__, CourseMapVersion.__table__
_LSV, _S, _G = LearnerStackVersion.__table__, Submission.__table__, Grant.__table__


def _kind(name: str) -> Any:
    return literal_column(f"'{name}'", String).label("kind")


def _none(column: Any, label: str) -> Any:
    return cast(null(), column.type).label(label)


def _union(contexts: Any, context_id: Any, user_id: Any) -> Any:
    """The standing's four parts. ``contexts``: the contexts table, or a statement's CTE of the context's
    row (``id``, ``course_key``); ``context_id``, ``user_id``: the parameters, or that statement's columns
    (``standing_in_statement``)."""
    # Columns: kind, key, state, title, version_id, number, version_course, content_hash, hours, ceus, at.
    # The first part's column types are the result's (SQLAlchemy processes values by them): its NULLs
    # carry the grant columns' own types.
    context = (
        select(
            _kind("context"),
            contexts.c.course_key.label("key"),
            _none(_S.c.state, "state"),
            _none(_G.c.title, "title"),
            _CO.c.current_version_id.label("version_id"),
            _none(_G.c.id, "number"),
            _V.c.course_key.label("version_course"),
            _V.c.content_hash.label("content_hash"),
            _none(_G.c.contact_hours, "hours"),
            _none(_G.c.ceus, "ceus"),
            _none(_G.c.granted_at, "at"),
        )
        .select_from(
            contexts.outerjoin(_CO, _CO.c.key == contexts.c.course_key).outerjoin(
                _V, _V.c.id == _CO.c.current_version_id
            )
        )
        .where(contexts.c.id == context_id)
    )
    # Stacks started under the course map the context follows now (a course moved to another map starts
    # afresh: learner_maps).
    stacks = (
        select(
            _kind("stack"),
            _LSV.c.stack_key,
            null(),
            null(),
            _LSV.c.map_version_id,
            null(),
            _V.c.course_key,
            _V.c.content_hash,
            null(),
            null(),
            null(),
        )
        .select_from(
            _LSV.join(
                contexts, and_(contexts.c.id == _LSV.c.context_id, contexts.c.course_key == _LSV.c.course_key)
            ).join(_V, _V.c.id == _LSV.c.map_version_id)
        )
        .where(_LSV.c.context_id == context_id, _LSV.c.user_id == user_id)
    )
    submissions = select(
        _kind("submission"),
        _S.c.credential_key,
        _S.c.state,
        null(),
        null(),
        _S.c.attempt,
        null(),
        null(),
        null(),
        null(),
        null(),
    ).where(_S.c.context_id == context_id, _S.c.user_id == user_id)
    # Grants count for the map they were granted under: only those of the map the context follows now.
    grants = (
        select(
            _kind("grant"),
            _G.c.target_key,
            _G.c.kind,
            _G.c.title,
            _G.c.map_version_id,
            _G.c.id,
            null(),
            null(),
            _G.c.contact_hours,
            _G.c.ceus,
            _G.c.granted_at,
        )
        .select_from(
            _G.join(
                contexts, and_(contexts.c.id == _G.c.context_id, contexts.c.course_key == _G.c.course_key)
            )
        )
        .where(_G.c.context_id == context_id, _G.c.user_id == user_id, _G.c.revoked_at.is_(None))
    )
    return union_all(context, stacks, submissions, grants)


_STANDING = _union(Context.__table__, bindparam("context_id"), bindparam("user_id"))


def standing_in_statement(context: Any, user: Any) -> Any:
    """The standing as a subquery of a statement that writes the context's and the user's rows (the
    launch's, ``services.launches.launch_writes_pg``): ``context`` and ``user`` are its CTEs of them. It
    reads what that statement returned for the context (its map binding, written by the same launch), and
    the stacks, submissions and grants the launch does not write; its rows are ``standing_of``'s."""
    return _union(context, context.c.id, user.c.id).subquery("standing")


def learner_standing(conn: Connection, context_id: int, user_id: int) -> LearnerStanding | None:
    """The learner's standing in the context; None when there is no such context."""
    return standing_of(conn.execute(_STANDING, {"context_id": context_id, "user_id": user_id}))


def standing_of(rows: Iterable[Sequence[Any]]) -> LearnerStanding | None:
    """The standing from its statement's rows (``_STANDING``, or ``standing_in_statement``'s columns)."""
    found = False
    course_key: str | None = None
    live: VersionRef | None = None
    recorded: dict[str, VersionRef] = {}
    submissions: dict[str, SubmissionRow] = {}
    grants: list[GrantRow] = []
    # Rows unpacked by position (the columns' order above): a learner has a row per submission and grant,
    # and looking a value up by name costs more than the rest of its handling.
    for row in rows:
        kind, key, state, title, version_id, number, version_course, content_hash, hours, ceus, at = row
        if kind == "submission":
            submissions[key] = SubmissionRow(state, int(number))
        elif kind == "grant":
            grants.append(GrantRow(int(number), state, key, title, hours, ceus, int(version_id), at))
        elif kind == "stack":
            recorded[key] = VersionRef(int(version_id), version_course, content_hash)
        else:  # the context
            found, course_key = True, key
            if version_id is not None:
                live = VersionRef(int(version_id), version_course, content_hash)
    if not found:
        return None
    return LearnerStanding(course_key, live, recorded, submissions, grants)

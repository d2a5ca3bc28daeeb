"""A course's editors: the teachers the tool lets change what the course follows (its course map and its
version, placements by Deep Linking, and this list). docs/decisions/0005-editing-and-teaching-roles.md.

Moodle sends editing and non-editing teachers alike as ``Instructor``, so the platform's roles alone cannot
tell them apart. Designers are therefore the people whose course role says so (ContentDeveloper, course
Administrator; LMS administrators under LMS_ADMINS_ARE_DESIGNERS), and the teachers on this list:

- an Instructor's Deep Linking request joins them to it (``source="deep_linking"``): Moodle offers "Select
  content" only to teachers who may edit the course, Canvas only to those who may add content;
- an editor adds another teacher of the course on the designer page (``source="added"``), and removes one.

A removed editor keeps the row (``removed_at``): their next Deep Linking launch does not add them back, only
an editor can. Membership.roles holds the roles the course gives now, designer included for listed
editors who teach there, so the per-request session check (web/auth.py) sees additions and removals: a
removed editor's open sessions end. Every change is in the audit trail.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, String, cast, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, aliased

from ..db import Database
from ..db.base import utcnow
from ..db.models import Context, CourseEditor, Membership, User
from ..domain.roles import ASSESSOR, DESIGNER, teaches, with_editing
from . import audit
from .errors import NotFound, ServiceError

DEEP_LINKING = "deep_linking"
ADDED = "added"


class EditingRefused(ServiceError):
    status = 403


@dataclass(frozen=True)
class Editor:
    user_id: int
    name: str
    email: str
    # "deep_linking" | "added" for the list; "lms_role" for a designer by their role in the LMS (not
    # removable here).
    source: str
    added_at: datetime | None
    added_by: str | None


@dataclass(frozen=True)
class Teacher:
    user_id: int
    name: str
    email: str


@dataclass(frozen=True)
class CourseEditors:
    editors: list[Editor]
    candidates: list[Teacher]  # teachers of the course who are not editors: the ones an editor may add


# --- launches -----------------------------------------------------------------------------------------


def reads_editors_list(roles: frozenset[str]) -> bool:
    """Whether a launch with these platform roles must read the course's editors list (``launch_roles``):
    only a teacher's without designer from the platform; anyone else's roles are the platform's."""
    return DESIGNER not in roles and ASSESSOR in roles


def launch_roles(
    session: Session,
    *,
    platform_id: int,
    deployment_pk: int,
    context_id: str,
    sub: str,
    roles: Iterable[str],
    deep_linking_instructor: bool,
) -> tuple[frozenset[str], bool]:
    """The roles a launch gives in its course, and whether it joins the person to the editors list.

    Only a teacher's launch without designer from the platform reads the list (one statement). An
    Instructor's Deep Linking request joins a teacher the list does not name yet; one an editor removed
    stays removed. The caller records the joining (``join_by_deep_linking``) once the rows exist.
    """
    platform_roles = frozenset(roles)
    if not reads_editors_list(platform_roles):
        return platform_roles, False
    conn = session.connection()
    row = conn.execute(
        select(CourseEditor.removed_at)
        .join(Context, Context.id == CourseEditor.context_id)
        .join(User, User.id == CourseEditor.user_id)
        .where(
            Context.deployment_id == deployment_pk,
            Context.context_id == context_id,
            User.platform_id == platform_id,
            User.sub == sub,
        )
    ).first()
    if row is not None:
        return with_editing(platform_roles, row.removed_at is None), False
    return with_editing(platform_roles, deep_linking_instructor), deep_linking_instructor


def join_by_deep_linking(session: Session, context_pk: int, user_id: int, now: datetime) -> None:
    """Put the person on the course's editors list (their Deep Linking launch), audited; a concurrent
    launch that joined them first wins and nothing is written twice."""
    conn = session.connection()
    inserted = conn.execute(
        _insert(conn)(CourseEditor.__table__)
        .values(context_id=context_pk, user_id=user_id, source=DEEP_LINKING, added_at=now)
        .on_conflict_do_nothing(index_elements=["context_id", "user_id"])
        .returning(CourseEditor.__table__.c.id)
    ).first()
    if inserted is not None:
        audit.record(
            session,
            action="context.editor_added",
            subject_type="context",
            subject_id=context_pk,
            actor_user_id=user_id,
            context_id=context_pk,
            data={"user_id": user_id, "source": DEEP_LINKING},
        )


def _insert(conn: Connection) -> Any:
    return postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert


def listed_editor_ids(session: Session, context_id: int) -> set[int]:
    """The users the course's editors list names now (for the roster, which stores roles as launches do)."""
    return set(
        session.scalars(
            select(CourseEditor.user_id).where(
                CourseEditor.context_id == context_id, CourseEditor.removed_at.is_(None)
            )
        )
    )


# --- the designer page --------------------------------------------------------------------------------


def course_editors(db: Database, context_id: int) -> CourseEditors:
    """Who may change what the course follows (listed editors and designers by LMS role), and the teachers
    an editor may add."""
    adder = aliased(User)
    with db.read() as session:
        listed = session.execute(
            select(CourseEditor, User, adder.name)
            .join(User, User.id == CourseEditor.user_id)
            .outerjoin(adder, adder.id == CourseEditor.added_by_user_id)
            .where(CourseEditor.context_id == context_id, CourseEditor.removed_at.is_(None))
            .order_by(CourseEditor.added_at, CourseEditor.id)
        ).all()
        members = session.execute(
            select(Membership.roles, User)
            .join(User, User.id == Membership.user_id)
            .where(
                Membership.context_id == context_id,
                Membership.status == "Active",
                # Only teachers can be editors or candidates: a MOOC's tens of thousands of learners are
                # left in the database (roles is a JSON list stored as text; ``teaches`` decides below).
                or_(*(cast(Membership.roles, String).like(f'%"{role}"%') for role in (ASSESSOR, DESIGNER))),
            )
            .order_by(User.name, User.id)
        ).all()
    listed_ids = {editor.user_id for editor, _, _ in listed}
    editors = [
        Editor(user.id, user.name, user.email, editor.source, editor.added_at, added_by)
        for editor, user, added_by in listed
    ]
    candidates: list[Teacher] = []
    for roles, user in members:
        if user.id in listed_ids:
            continue
        if DESIGNER in (roles or ()):
            editors.append(Editor(user.id, user.name, user.email, "lms_role", None, None))
        elif teaches(roles or ()):
            candidates.append(Teacher(user.id, user.name, user.email))
    return CourseEditors(editors, candidates)


def _lock_memberships(session: Session, context_id: int, user_ids: Iterable[int]) -> dict[int, Membership]:
    """The memberships of the editor acting and of the teacher concerned, locked in user order (two editors
    removing each other at once queue instead of deadlocking; SQLite's write lock already serialises)."""
    rows = session.scalars(
        select(Membership)
        .where(Membership.context_id == context_id, Membership.user_id.in_(sorted(set(user_ids))))
        .order_by(Membership.user_id)
        .with_for_update()
    )
    return {m.user_id: m for m in rows}


def _check_actor(memberships: dict[int, Membership], actor_user_id: int) -> None:
    actor = memberships.get(actor_user_id)
    if actor is None or actor.status != "Active" or DESIGNER not in (actor.roles or ()):
        raise EditingRefused(
            "not_an_editor", "Only the course's editors can change who edits it; open the tool again."
        )


def _name(session: Session, user_id: int) -> str:
    user = session.get(User, user_id)
    return (user.name if user is not None else "") or f"User {user_id}"


def add_editor(db: Database, context_id: int, user_id: int, actor_user_id: int) -> str:
    """An editor names another teacher of the course an editor (audited); returns their name. Adding one
    already listed changes nothing."""
    with db.transaction() as session:
        memberships = _lock_memberships(session, context_id, (actor_user_id, user_id))
        _check_actor(memberships, actor_user_id)
        teacher = memberships.get(user_id)
        name = _name(session, user_id)
        if teacher is None or teacher.status != "Active" or not teaches(teacher.roles or ()):
            raise NotFound(
                "not_a_teacher",
                "Only a teacher of this course can be an editor: they open the tool once from the course "
                "(or the roster is refreshed), then you can add them.",
            )
        if DESIGNER in (teacher.roles or ()):
            return name
        editor = session.scalar(
            select(CourseEditor).where(CourseEditor.context_id == context_id, CourseEditor.user_id == user_id)
        )
        now = utcnow()
        if editor is None:
            session.add(
                CourseEditor(
                    context_id=context_id,
                    user_id=user_id,
                    source=ADDED,
                    added_by_user_id=actor_user_id,
                    added_at=now,
                )
            )
        else:
            editor.source, editor.added_by_user_id, editor.added_at = ADDED, actor_user_id, now
            editor.removed_at = editor.removed_by_user_id = None
        teacher.roles = sorted(with_editing(teacher.roles or (), True))
        audit.record(
            session,
            action="context.editor_added",
            subject_type="context",
            subject_id=context_id,
            actor_user_id=actor_user_id,
            context_id=context_id,
            data={"user_id": user_id, "name": name, "source": ADDED},
        )
    return name


def remove_editor(db: Database, context_id: int, user_id: int, actor_user_id: int) -> str:
    """An editor takes another teacher off the course's editors list (audited); returns their name. The
    teacher keeps assessing; their open sessions as a designer end."""
    if user_id == actor_user_id:
        raise ServiceError(
            "editor_self", "You cannot take yourself off the editors list: ask another editor to."
        )
    with db.transaction() as session:
        memberships = _lock_memberships(session, context_id, (actor_user_id, user_id))
        _check_actor(memberships, actor_user_id)
        editor = session.scalar(
            select(CourseEditor).where(
                CourseEditor.context_id == context_id,
                CourseEditor.user_id == user_id,
                CourseEditor.removed_at.is_(None),
            )
        )
        name = _name(session, user_id)
        if editor is None:
            raise NotFound(
                "not_listed_editor",
                f"{name} is not on this course's editors list (a designer by their role in the LMS "
                "is changed in the LMS).",
            )
        editor.removed_at, editor.removed_by_user_id = utcnow(), actor_user_id
        teacher = memberships.get(user_id)
        if teacher is not None:
            teacher.roles = sorted(set(teacher.roles or ()) - {DESIGNER})
        audit.record(
            session,
            action="context.editor_removed",
            subject_type="context",
            subject_id=context_id,
            actor_user_id=actor_user_id,
            context_id=context_id,
            data={"user_id": user_id, "name": name},
        )
    return name

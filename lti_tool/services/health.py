"""What /healthz reports: is the database reachable and migrated, and which course maps are loaded."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.exc import SQLAlchemyError

from ..db import Database
from ..db.models import Course, CourseMapVersion, CredentialDef, StackDef


def health_report(db: Database) -> dict[str, Any]:
    try:
        with db.read() as session:
            revision = session.execute(text("SELECT version_num FROM alembic_version")).scalar()
            courses = []
            rows = session.execute(
                select(Course, CourseMapVersion)
                .join(CourseMapVersion, Course.current_version_id == CourseMapVersion.id)
                .order_by(Course.key)
            ).all()
            for course, version in rows:
                stacks = session.scalar(
                    select(func.count()).select_from(StackDef).where(StackDef.map_version_id == version.id)
                )
                credentials = session.scalar(
                    select(func.count())
                    .select_from(CredentialDef)
                    .where(CredentialDef.map_version_id == version.id)
                )
                courses.append(
                    {
                        "key": course.key,
                        "title": course.title,
                        "version": version.version_label,
                        "revision": version.revision,
                        "stacks": stacks,
                        "credentials": credentials,
                    }
                )
    except SQLAlchemyError as exc:
        return {"status": "error", "database": {"ok": False, "error": type(exc).__name__}, "course_maps": []}
    return {
        "status": "ok",
        "database": {"ok": True, "dialect": db.dialect, "schema_revision": revision},
        "course_maps": courses,
    }

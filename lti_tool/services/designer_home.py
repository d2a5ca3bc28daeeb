"""What the course designer's page shows: the dashboard, the bound map and the maps to choose from."""

from __future__ import annotations

from dataclasses import dataclass

from ..db import Database
from ..db.models import Context
from .course_maps import CourseSummary, list_courses
from .errors import NotFound
from .progress import CourseDashboard, course_dashboard


@dataclass(frozen=True)
class DesignerHome:
    dashboard: CourseDashboard
    bound_course_key: str | None
    choices: list[CourseSummary]
    has_memberships_url: bool


def designer_home(db: Database, context_id: int) -> DesignerHome:
    """The dashboard of a course, the course maps a designer may bind it to, and whether NRPS is offered."""
    dashboard = course_dashboard(db, context_id)
    with db.read() as session:
        context = session.get(Context, context_id)
        if context is None:
            raise NotFound("unknown_context", "This course is not known to the tool.")
        bound, memberships_url = context.course_key, context.memberships_url
    return DesignerHome(dashboard, bound, list_courses(db), bool(memberships_url))

"""What the course designer's page shows: the dashboard, the bound map and the maps to choose from, a
placement that asks for another map than the bound one, and the gradebook columns the tool cannot manage."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ..db import Database
from ..db.models import Context, Course
from .course_maps import CourseSummary, list_courses
from .errors import NotFound
from .gradebook_overview import GradebookColumns, columns_overview
from .progress import CourseDashboard, course_dashboard


@dataclass(frozen=True)
class DesignerHome:
    dashboard: CourseDashboard
    bound_course_key: str | None
    choices: list[CourseSummary]
    has_memberships_url: bool
    # A placement's launch asked for another loaded map than the binding (launches never rebind).
    disagreement: CourseMapDisagreement | None = None
    # The gradebook's columns as the tool can use them, and those it cannot manage (services.gradebook).
    gradebook: GradebookColumns | None = None


@dataclass(frozen=True)
class CourseMapDisagreement:
    asked_for: str  # the course map key the placement's course_map parameter names
    asked_for_title: str
    last_seen: datetime


def designer_home(db: Database, context_id: int, *, report_max_age_seconds: float = 0.0) -> DesignerHome:
    """The dashboard of a course, the course maps a designer may bind it to, and whether NRPS is offered
    (``report_max_age_seconds``: see services.course_report.course_report)."""
    dashboard = course_dashboard(db, context_id, report_max_age_seconds=report_max_age_seconds)
    with db.read() as session:
        context = session.get(Context, context_id)
        if context is None:
            raise NotFound("unknown_context", "This course is not known to the tool.")
        bound, memberships_url = context.course_key, context.memberships_url
        disagreement = None
        asked, seen = context.disagreeing_course_map, context.disagreeing_course_map_at
        if asked is not None and seen is not None and asked != bound:
            course = session.get(Course, asked)
            disagreement = CourseMapDisagreement(asked, course.title if course else asked, seen)
    return DesignerHome(
        dashboard,
        bound,
        list_courses(db),
        bool(memberships_url),
        disagreement,
        gradebook=columns_overview(db, context_id),
    )

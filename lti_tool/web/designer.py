"""Course designer pages: bind the LMS course to a course map, see its mapping, and follow learners."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, redirect, render_template, request

from ..domain.ceu import ceus_for_hours
from ..services import designer_home
from ..services.errors import ServiceError
from ..services.progress import bind_course
from .auth import DESIGNER, current_actor, require_role, url
from .context import db
from .errors import error_response

bp = Blueprint("designer", __name__, url_prefix="/design")

NOTICES = {
    "bound": "The course is now linked to the chosen course map.",
}


def _render(*, status: int = 200, message: str | None = None, error: str | None = None) -> Any:
    actor = current_actor()
    try:
        home = designer_home.designer_home(db(), actor.context_id)
    except ServiceError as exc:
        return error_response(exc.status, exc.code, exc.message)
    return (
        render_template(
            "designer/dashboard.html",
            home=home,
            dash=home.dashboard,
            course=home.dashboard.course,
            message=message or NOTICES.get(request.args.get("notice", "")),
            error=error,
            ceus_for_hours=ceus_for_hours,
        ),
        status,
    )


@bp.get("/")
@require_role(DESIGNER)
def dashboard() -> Any:
    return _render()


@bp.post("/course-map")
@require_role(DESIGNER)
def choose_course_map() -> Any:
    actor = current_actor()
    course_key = request.form.get("course_key", "").strip()
    if not course_key:
        return _render(status=400, error="Choose a course map.")
    try:
        bind_course(db(), actor.context_id, course_key, actor.user_id)
    except ServiceError as exc:
        return _render(status=exc.status, error=exc.message)
    return redirect(url("designer.dashboard", notice="bound"), 303)


@bp.post("/roster/refresh")
@require_role(DESIGNER)
def refresh_roster() -> Any:
    actor = current_actor()
    # Imported here: the roster (NRPS) part is optional to the dashboard, and loads its HTTP client.
    from ..services.roster import refresh_roster as refresh

    try:
        result = refresh(db(), actor.context_id)
    except ServiceError as exc:
        return _render(status=exc.status, error=exc.message)
    return _render(
        message=f"Roster refreshed from the LMS: {result.members} member(s), {result.added} new, "
        f"{result.updated} updated, {result.deactivated} no longer active."
    )

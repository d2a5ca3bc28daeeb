"""Course designer pages: bind the LMS course to a course map, see its mapping, follow learners, and name
the course's editors. Teachers who are not editors (assessors) see the dashboard read-only; every change
needs designer (docs/decisions/0005-editing-and-teaching-roles.md). Forms answer with a redirect."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, redirect, render_template, request, stream_with_context
from markupsafe import Markup

from ..domain.ceu import ceus_for_hours
from ..services import course_binding, course_report, designer_home, editors, progress
from ..services.errors import ServiceError
from ..services.progress import bind_course
from .auth import ASSESSOR, DESIGNER, current_actor, require_role, url
from .context import db, settings
from .errors import error_response
from .svg_chart import bar_chart

bp = Blueprint("designer", __name__, url_prefix="/design")

NOTICES = {
    "bound": "The course is now linked to the chosen course map.",
    "kept": "The course keeps its course map; the warning about the placement is dismissed.",
    "editor_added": "{name} is now an editor of this course: from their next launch they can change its "
    "course map and placements.",
    "editor_removed": "{name} is no longer an editor of this course; they keep reviewing evidence.",
}


def _notice(people: editors.CourseEditors) -> str | None:
    """The message for the ``notice`` a form's redirect named (Post/Redirect/Get). Names come from the
    course's own people (``user``), never from the URL."""
    notice = request.args.get("notice", "")
    if notice == "roster":
        names = ("members", "added", "updated", "gone")
        counts = {k: request.args.get(k, type=int, default=0) for k in names}
        return (
            f"Roster refreshed from the LMS: {counts['members']} member(s), {counts['added']} new, "
            f"{counts['updated']} updated, {counts['gone']} no longer active."
        )
    template = NOTICES.get(notice)
    if template is None:
        return None
    user_id = request.args.get("user", type=int)
    names = {p.user_id: p.name for p in [*people.editors, *people.candidates]}
    name = names.get(user_id) if user_id is not None else None
    return template.format(name=name or "The teacher")


def _charts(report: course_report.CourseReport | None) -> dict[str, Markup]:
    """The dashboard's two charts of credentials earned, drawn from the report's weekly numbers."""
    if report is None or not report.weeks:
        return {}
    labels = [w.week.strftime("%d %b %Y") for w in report.weeks]
    span = f"from the week of {labels[0]} to the week of {labels[-1]}"
    weekly = [w.earned for w in report.weeks]
    totals = [w.total for w in report.weeks]
    return {
        "weekly": bar_chart(
            "Micro-credentials earned per week",
            f"Bar chart, one bar per week {span}: between {min(weekly)} and {max(weekly)} earned a week. "
            "The table below gives each week's number.",
            labels,
            weekly,
            chart_id="earned-weekly",
            y_label="Earned that week",
        ),
        "total": bar_chart(
            "Micro-credentials earned in total",
            f"Bar chart of the running total {span}: {totals[-1]} earned by the last week. "
            "The table below gives each week's number.",
            labels,
            totals,
            chart_id="earned-total",
            y_label="Earned in total",
        ),
    }


def _render(
    *, status: int = 200, message: str | None = None, error: str | None = None, error_field: str | None = None
) -> Any:
    """The dashboard; ``error_field`` names the form field the error is about (the page ties them)."""
    actor = current_actor()
    try:
        home = designer_home.designer_home(
            db(), actor.context_id, report_max_age_seconds=settings().report_max_age_seconds
        )
        people = editors.course_editors(db(), actor.context_id)
    except ServiceError as exc:
        return error_response(exc.status, exc.code, exc.message)
    return (
        render_template(
            "designer/dashboard.html",
            home=home,
            dash=home.dashboard,
            course=home.dashboard.course,
            message=message or _notice(people),
            editors=people,
            can_edit=actor.has(DESIGNER),
            error=error,
            error_field=error_field,
            ceus_for_hours=ceus_for_hours,
            funnels={f.stack.id: f for f in home.dashboard.report.stacks} if home.dashboard.report else {},
            charts=_charts(home.dashboard.report),
            duration_text=course_report.duration_text,
        ),
        status,
    )


@bp.get("/")
@require_role(DESIGNER, ASSESSOR)
def dashboard() -> Any:
    return _render()


@bp.get("/learners")
@require_role(DESIGNER, ASSESSOR)
def learners() -> Any:
    """The course's learners, a page at a time, searchable, with where each stands in each stack."""
    actor = current_actor()
    try:
        listing = course_report.learner_list(
            db(),
            actor.context_id,
            request.args.get("q", ""),
            request.args.get("page", type=int, default=1),
        )
    except ServiceError as exc:
        return error_response(exc.status, exc.code, exc.message)
    course = listing.course
    return render_template(
        "designer/learners.html", listing=listing, course=course, context_title=listing.context_title
    )


@bp.get("/learners.csv")
@require_role(DESIGNER, ASSESSOR)
def progress_csv() -> Any:
    """The progress table as CSV, streamed while the database is read (memory flat for any course)."""
    actor = current_actor()
    try:
        chunks = course_report.progress_csv(db(), actor.context_id)
    except ServiceError as exc:
        return error_response(exc.status, exc.code, exc.message)
    response = Response(stream_with_context(chunks), mimetype="text/csv")
    response.headers["Content-Disposition"] = 'attachment; filename="progress.csv"'
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/course-map")
@require_role(DESIGNER)
def choose_course_map() -> Any:
    """Bind an unbound course at once; changing the map of a bound course first shows what changes for
    learners and asks to confirm (``confirm=yes`` with ``expected``, the binding the designer saw)."""
    actor = current_actor()
    course_key = request.form.get("course_key", "").strip()
    if not course_key:
        return _render(status=400, error="Choose a course map.", error_field="course_key")
    try:
        if request.form.get("confirm") == "yes":
            bind_course(
                db(),
                actor.context_id,
                course_key,
                actor.user_id,
                expected=request.form.get("expected") or None,
            )
        else:
            preview = course_binding.map_change_preview(db(), actor.context_id, course_key)
            if preview.current_key is not None and preview.current_key != course_key:
                return render_template("designer/confirm_map_change.html", preview=preview)
            bind_course(db(), actor.context_id, course_key, actor.user_id, expected=preview.current_key)
    except ServiceError as exc:
        return _render(status=exc.status, error=exc.message, error_field="course_key")
    return redirect(url("designer.dashboard", notice="bound"), 303)


@bp.post("/course-map/warning/dismiss")
@require_role(DESIGNER)
def dismiss_course_map_warning() -> Any:
    actor = current_actor()
    try:
        progress.dismiss_course_map_warning(db(), actor.context_id, actor.user_id)
    except ServiceError as exc:
        return _render(status=exc.status, error=exc.message)
    return redirect(url("designer.dashboard", notice="kept"), 303)


@bp.post("/roster/refresh")
@require_role(DESIGNER, ASSESSOR)
def refresh_roster() -> Any:
    actor = current_actor()
    # Imported here: the roster (NRPS) part is optional to the dashboard, and loads its HTTP client.
    from ..services.roster import refresh_roster as refresh

    try:
        result = refresh(db(), actor.context_id)
    except ServiceError as exc:
        return _render(status=exc.status, error=exc.message)
    counts = {"members": result.members, "added": result.added, "updated": result.updated}
    return redirect(url("designer.dashboard", notice="roster", gone=result.deactivated, **counts), 303)


@bp.post("/editors")
@require_role(DESIGNER)
def add_editor() -> Any:
    actor = current_actor()
    user_id = request.form.get("user_id", type=int)
    if user_id is None:
        return _render(
            status=400, error="Choose a teacher to add as an editor.", error_field="editor_user_id"
        )
    try:
        editors.add_editor(db(), actor.context_id, user_id, actor.user_id)
    except ServiceError as exc:
        return _render(status=exc.status, error=exc.message, error_field="editor_user_id")
    return redirect(url("designer.dashboard", notice="editor_added", user=user_id), 303)


@bp.post("/editors/<id:user_id>/remove")
@require_role(DESIGNER)
def remove_editor(user_id: int) -> Any:
    actor = current_actor()
    try:
        editors.remove_editor(db(), actor.context_id, user_id, actor.user_id)
    except ServiceError as exc:
        return _render(status=exc.status, error=exc.message)
    return redirect(url("designer.dashboard", notice="editor_removed", user=user_id), 303)

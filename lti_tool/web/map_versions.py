"""Course designer pages for the versions of the course's map: upload a new version (a zip of the map
folder or its YAML files), review what it changes against the live version, publish it; see the learners
still judged by an older version of a stack and move them on. Designers only (the editing role); every
form carries the CSRF token and answers with a redirect."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, redirect, render_template, request

from ..services import learner_versions, map_uploads
from ..services.errors import CourseNotConfigured, ServiceError
from .auth import DESIGNER, current_actor, require_role, url
from .context import db
from .errors import error_response

bp = Blueprint("map_versions", __name__, url_prefix="/design/map-versions")

NOTICES = {
    "published": "The new version is live. Learners who start a stack from now on follow it; learners "
    "part-way through a stack keep the version they started it under until you move them on below.",
    "moved": "Moved to the live version of the stack.",
    "moved_none": "Nobody was moved: those learners already follow the live version, or have the "
    "stack's CEUs.",
}


@bp.errorhandler(ServiceError)
def _service_error(exc: ServiceError) -> Any:
    if isinstance(exc, CourseNotConfigured):
        return error_response(
            exc.status,
            exc.code,
            "This course does not follow a course map yet: choose one on the course dashboard.",
        )
    return error_response(exc.status, exc.code, exc.message)


def _page(
    *,
    status: int = 200,
    error: str | None = None,
    error_field: str | None = None,
    problems: list[str] | None = None,
) -> Any:
    """The versions page; ``error_field`` names the form field the error is about (the page ties them)."""
    actor = current_actor()
    overview = learner_versions.learners_on_older_versions(db(), actor.context_id)
    return (
        render_template(
            "designer/map_versions.html",
            overview=overview,
            message=NOTICES.get(request.args.get("notice", "")),
            error=error,
            error_field=error_field,
            problems=problems or [],
            limits={
                "files": map_uploads.MAX_FILES,
                "file_kb": map_uploads.MAX_FILE_BYTES // 1024,
                "total_mb": map_uploads.MAX_TOTAL_BYTES // (1024 * 1024),
            },
        ),
        status,
    )


@bp.get("/")
@require_role(DESIGNER)
def home() -> Any:
    return _page()


@bp.post("/uploads")
@require_role(DESIGNER)
def upload() -> Any:
    actor = current_actor()
    files = [map_uploads.UploadedFile(f.filename or "", f.stream) for f in request.files.getlist("files")]
    try:
        upload_id = map_uploads.check_upload(db(), actor.context_id, actor.user_id, files)
    except map_uploads.UploadRefused as exc:
        return _page(status=exc.status, error=exc.message, error_field="map-files", problems=exc.problems)
    return redirect(url("map_versions.review", upload_id=upload_id), 303)


@bp.get("/uploads/<id:upload_id>")
@require_role(DESIGNER)
def review(upload_id: int) -> Any:
    actor = current_actor()
    review = map_uploads.review_upload(db(), actor.context_id, upload_id)
    return render_template("designer/map_upload_review.html", review=review, error=None)


@bp.post("/uploads/<id:upload_id>/publish")
@require_role(DESIGNER)
def publish(upload_id: int) -> Any:
    actor = current_actor()
    reviewed_against = request.form.get("reviewed_against", type=int)
    try:
        if reviewed_against is None:
            raise ServiceError("bad_request", "Look at the differences first, then publish.")
        map_uploads.publish_upload(db(), actor.context_id, upload_id, actor.user_id, reviewed_against)
    except ServiceError as exc:
        review = map_uploads.review_upload(db(), actor.context_id, upload_id)
        return render_template(
            "designer/map_upload_review.html", review=review, error=exc.message
        ), exc.status
    return redirect(url("map_versions.home", notice="published"), 303)


@bp.post("/stacks/<stack_key>/move")
@require_role(DESIGNER)
def move(stack_key: str) -> Any:
    actor = current_actor()
    user_id = request.form.get("user_id", type=int)
    try:
        result = learner_versions.move_to_live_version(
            db(), actor.context_id, stack_key, actor.user_id, user_id
        )
    except ServiceError as exc:
        if exc.code == "not_on_an_older_version":
            return redirect(url("map_versions.home", notice="moved_none"), 303)
        raise
    return redirect(url("map_versions.home", notice="moved" if result.moved else "moved_none"), 303)

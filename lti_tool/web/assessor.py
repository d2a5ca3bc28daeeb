"""Assessor pages: the course's review queue, and one submission's evidence beside its rubric. A decision
answers with a redirect to its result page (Post/Redirect/Get)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, redirect, render_template, request

from ..services import (
    assessment,
    attempt_changes,
    decision_reports,
    review_claims,
    review_history,
    review_queue,
    reviews,
    staff_learner,
)
from ..services.errors import Conflict, CourseNotConfigured, NotFound, ServiceError
from . import artifact_previews
from .auth import ASSESSOR, DESIGNER, current_actor, require_role, url
from .context import db, settings
from .errors import error_response, wants_json

bp = Blueprint("assessor", __name__, url_prefix="/assess")

SCORE_PREFIX = "score-"


# Any assessor page of a course that has no course map yet: a "not set up yet" page (200) for people,
# the stable JSON error for API clients.
@bp.errorhandler(CourseNotConfigured)
def _not_configured(exc: CourseNotConfigured) -> Any:
    if wants_json():
        return error_response(exc.status, exc.code, exc.message)
    return render_template("assessor/not_configured.html"), 200


# A global, not a context value: the review page's preview macro is imported (no context).
bp.add_app_template_global(artifact_previews.preview_kind, "preview_kind")


@bp.get("/")
@require_role(ASSESSOR)
def queue() -> Any:
    actor = current_actor()
    try:
        filters = review_queue.filters_from(request.args)
        page = review_queue.review_queue_page(db(), actor.context_id, actor.user_id, filters)
    except CourseNotConfigured:
        raise
    except ServiceError as exc:
        return error_response(exc.status, exc.code, exc.message)
    return render_template("assessor/queue.html", page=page, items=page.rows)


def _render_review(
    submission_id: int,
    *,
    status: int = 200,
    error: str | None = None,
    conflict: str | None = None,
    scores: dict[str, str] | None = None,
    feedback: str = "",
    error_field: str | None = None,
) -> Any:
    actor = current_actor()
    try:
        page = reviews.review_page(db(), actor.context_id, submission_id, actor.user_id)
        changes = attempt_changes.changes_since_previous(db(), actor.context_id, submission_id)
    except CourseNotConfigured:
        raise
    except ServiceError as exc:
        return error_response(exc.status, exc.code, exc.message)
    return (
        render_template(
            "assessor/review.html",
            page=page,
            sub=page.view,
            credential=page.view.credential,
            learner_name=page.learner_name,
            own=page.view.user_id == actor.user_id,
            error=error,
            conflict=conflict,
            scores=scores or {},
            feedback=feedback,
            error_field=error_field,
            changes=changes,
        ),
        status,
    )


@bp.get("/submissions/<id:submission_id>")
@require_role(ASSESSOR)
def review(submission_id: int) -> Any:
    """Opening the page holds the submission for this assessor for CLAIM_MINUTES (re-opening extends)."""
    actor = current_actor()
    try:
        review_claims.claim(db(), actor.context_id, submission_id, actor.user_id, settings().claim_minutes)
    except ServiceError as exc:
        return error_response(exc.status, exc.code, exc.message)
    return _render_review(submission_id)


@bp.post("/submissions/<id:submission_id>/release")
@require_role(ASSESSOR)
def release(submission_id: int) -> Any:
    actor = current_actor()
    try:
        review_claims.release(db(), actor.context_id, submission_id, actor.user_id)
    except ServiceError as exc:
        return error_response(exc.status, exc.code, exc.message)
    return redirect(url("assessor.queue"), 303)


# The scoring form's field a refusal is about, so the page ties the message to it (aria-describedby).
FIELD_OF_REFUSAL = {"feedback_required": "feedback"}


@bp.post("/submissions/<id:submission_id>")
@require_role(ASSESSOR)
def decide(submission_id: int) -> Any:
    actor = current_actor()
    scores = {k[len(SCORE_PREFIX) :]: v for k, v in request.form.items() if k.startswith(SCORE_PREFIX) and v}
    feedback = request.form.get("feedback", "")
    try:
        result = assessment.decide(db(), actor.context_id, submission_id, actor.user_id, scores, feedback)
    except CourseNotConfigured:
        raise
    except NotFound as exc:
        return error_response(exc.status, exc.code, exc.message)
    except Conflict as exc:
        return _render_review(submission_id, status=409, conflict=exc.message)
    except ServiceError as exc:
        # Keep what the assessor chose and wrote; the message says what to fix (e.g. feedback for "not yet").
        return _render_review(
            submission_id,
            status=exc.status,
            error=exc.message,
            scores=scores,
            feedback=feedback,
            error_field=exc.field or FIELD_OF_REFUSAL.get(exc.code),
        )
    # Post/Redirect/Get: reloading the result page never posts the decision again.
    grants = ",".join(str(grant_id) for grant_id, _, _ in result.new_grants)
    return redirect(url("assessor.decided", submission_id=submission_id, grants=grants or None), 303)


@bp.get("/submissions/<id:submission_id>/decided")
@require_role(ASSESSOR)
def decided(submission_id: int) -> Any:
    actor = current_actor()
    grant_ids = [int(g) for g in request.args.get("grants", "").split(",") if g.isdigit() and len(g) < 12]
    try:
        report = decision_reports.decision_report(
            db(), actor.context_id, submission_id, grant_ids, viewer_id=actor.user_id
        )
    except CourseNotConfigured:
        raise
    except ServiceError as exc:
        return error_response(exc.status, exc.code, exc.message)
    return render_template("assessor/decided.html", report=report, submission_id=submission_id)


@bp.get("/history")
@require_role(ASSESSOR, DESIGNER)
def history() -> Any:
    """Decided attempts, newest first, filtered by assessor, credential, learner and decision."""
    actor = current_actor()
    try:
        filters = review_history.history_filters_from(request.args)
        page = review_history.decision_history(db(), actor.context_id, filters)
    except CourseNotConfigured:
        raise
    except ServiceError as exc:
        return error_response(exc.status, exc.code, exc.message)
    return render_template("assessor/history.html", page=page)


@bp.get("/learners/<id:user_id>")
@require_role(ASSESSOR, DESIGNER)
def learner(user_id: int) -> Any:
    """One learner of this course for its staff: stacks, every attempt, reviews, grants and records."""
    actor = current_actor()
    try:
        page = staff_learner.staff_learner_page(db(), actor.context_id, user_id)
    except CourseNotConfigured:
        raise
    except ServiceError as exc:
        return error_response(exc.status, exc.code, exc.message)
    return render_template("assessor/learner.html", page=page)

"""Assessor pages: the course's review queue, and one submission's evidence beside its rubric."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template, request

from ..services import assessment, decision_reports
from ..services.errors import Conflict, CourseNotConfigured, NotFound, ServiceError
from .auth import ASSESSOR, current_actor, require_role
from .context import db
from .errors import error_response

bp = Blueprint("assessor", __name__, url_prefix="/assess")

SCORE_PREFIX = "score-"


def _not_configured(exc: CourseNotConfigured) -> tuple[str, int]:
    return render_template("assessor/not_configured.html", message=exc.message), 409


@bp.get("/")
@require_role(ASSESSOR)
def queue() -> Any:
    actor = current_actor()
    try:
        items = assessment.review_queue(db(), actor.context_id)
    except CourseNotConfigured as exc:
        return _not_configured(exc)
    except ServiceError as exc:
        return error_response(exc.status, exc.code, exc.message)
    return render_template("assessor/queue.html", items=items)


def _render_review(
    submission_id: int,
    *,
    status: int = 200,
    error: str | None = None,
    conflict: str | None = None,
    scores: dict[str, str] | None = None,
    feedback: str = "",
) -> Any:
    actor = current_actor()
    try:
        view, learner_name = assessment.review_detail(db(), actor.context_id, submission_id)
    except ServiceError as exc:
        return error_response(exc.status, exc.code, exc.message)
    return (
        render_template(
            "assessor/review.html",
            sub=view,
            credential=view.credential,
            learner_name=learner_name,
            own=view.user_id == actor.user_id,
            error=error,
            conflict=conflict,
            scores=scores or {},
            feedback=feedback,
        ),
        status,
    )


@bp.get("/submissions/<id:submission_id>")
@require_role(ASSESSOR)
def review(submission_id: int) -> Any:
    return _render_review(submission_id)


@bp.post("/submissions/<id:submission_id>")
@require_role(ASSESSOR)
def decide(submission_id: int) -> Any:
    actor = current_actor()
    scores = {k[len(SCORE_PREFIX) :]: v for k, v in request.form.items() if k.startswith(SCORE_PREFIX) and v}
    feedback = request.form.get("feedback", "")
    try:
        report = decision_reports.decide_and_report(
            db(), actor.context_id, submission_id, actor.user_id, scores, feedback
        )
    except NotFound as exc:
        return error_response(exc.status, exc.code, exc.message)
    except Conflict as exc:
        return _render_review(submission_id, status=409, conflict=exc.message)
    except ServiceError as exc:
        # Keep what the assessor chose and wrote; the message says what to fix (e.g. feedback for "not yet").
        return _render_review(
            submission_id, status=exc.status, error=exc.message, scores=scores, feedback=feedback
        )
    return render_template("assessor/decided.html", report=report, submission_id=submission_id)

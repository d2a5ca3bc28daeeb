"""Learner pages: progress across the course's stacks, and the evidence page of each micro-credential.

Answers and reflections are one form; each artifact requirement has its own upload/link form, so an
upload the server refuses (too large, wrong requirement) never carries typed text with it.
"""

from __future__ import annotations

from typing import Any, BinaryIO, cast

from flask import Blueprint, redirect, render_template, request, send_file
from werkzeug.datastructures import ImmutableMultiDict
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.wrappers import Response

from ..domain import links, uploads
from ..domain.ceu import ceus_for_hours
from ..domain.evidence import ArtifactRef, field_problems, word_count
from ..services import artifact_files, artifacts, evidence
from ..services.errors import (
    CourseNotConfigured,
    EvidenceIncomplete,
    NotFound,
    ServiceError,
    WordLimitExceeded,
)
from ..services.evidence import SubmissionView
from ..services.progress import LearnerStanding, learner_overview
from ..storage import FileStore
from . import artifact_previews
from .auth import ASSESSOR, DESIGNER, LEARNER, current_actor, require_role, url
from .context import db, settings
from .errors import error_response, wants_json

# The evidence page's script is served from here too, so it never depends on the app's static route.
bp = Blueprint("learner", __name__, url_prefix="/learn", static_folder="static", static_url_path="/static")

# Short codes carried in the redirect after a successful POST: they work without a session cookie.
NOTICES = {
    "saved": "Draft saved.",
    "submitted": "Submitted for review. An assessor will decide 'earned' or 'not yet' with feedback.",
    "artifact_added": "Artifact added.",
    "artifact_removed": "Artifact removed.",
}


# Refusals of an upload that have an HTTP status of their own.
UPLOAD_STATUS = {"upload_too_large": 413, "quota_exceeded": 413, "unsupported_file_type": 415}


@bp.context_processor
def _helpers() -> dict[str, Any]:
    return {
        "ceus_for_hours": ceus_for_hours,
        "word_count": word_count,
        "accepted_files": uploads.describe_accepted,
        "accept_attribute": uploads.accept_attribute,
        "describe_accepts": links.describe_accepts,
        "video_links": links.describe_video_links(),
        # For evidence.js, which says at once when a link is not a video (the server decides).
        "video_domains": " ".join(links.VIDEO_DOMAINS),
        "video_extensions": " ".join(links.VIDEO_EXTENSIONS),
    }


# A service's refusal that no view handles itself becomes a page: the friendly "not set up yet" page, or an
# error page with the service's code and message.
@bp.errorhandler(CourseNotConfigured)
def _not_configured(exc: CourseNotConfigured) -> Any:
    # A course nobody has set up yet is a normal state for a learner's first visit, not an error: 200.
    if wants_json():
        return error_response(exc.status, exc.code, exc.message)
    return render_template("learner/not_configured.html"), 200


@bp.errorhandler(ServiceError)
def _service_error(exc: ServiceError) -> Any:
    return error_response(exc.status, exc.code, exc.message)


def _page_level(exc: ServiceError) -> bool:
    """Refusals that concern the page itself (no course map, unknown credential), not the form."""
    return isinstance(exc, CourseNotConfigured | NotFound)


@bp.get("/")
@require_role(LEARNER)
def home() -> Any:
    return home_page()


def home_page(landed_at: str | None = None, standing: LearnerStanding | None = None) -> str:
    """The learner's progress page. A launch renders it in its own answer (``lti_views.launch``), saving
    the browser a redirect: ``landed_at`` is then this page's URL, which the page's script makes the
    history entry, so reloading it asks for the page instead of posting the spent id_token again; and
    ``standing`` what the launch's statement read of the learner, when it did."""
    actor = current_actor()
    overview = learner_overview(db(), actor.context_id, actor.user_id, standing)
    # The page needs none of the blueprint's helpers (their context processor runs only for /learn/
    # requests anyway; a launch is not one).
    return render_template("learner/home.html", overview=overview, landed_at=landed_at)


@bp.get("/stacks/<stack_key>")
@require_role(LEARNER)
def stack(stack_key: str) -> Any:
    actor = current_actor()
    overview = learner_overview(db(), actor.context_id, actor.user_id)
    found = next((s for s in overview.stacks if s.stack.id == stack_key), None)
    if found is None:
        return error_response(404, "unknown_stack", f"No stack {stack_key!r} in this course.")
    return render_template("learner/stack.html", overview=overview, progress=found)


def _texts(prefix: str) -> dict[str, str]:
    return {k[len(prefix) :]: v for k, v in request.form.items() if k.startswith(prefix)}


def _render_credential(
    view: SubmissionView,
    *,
    status: int = 200,
    problems: list[str] | None = None,
    error: str | None = None,
    answers: dict[str, str] | None = None,
    reflections: dict[str, str] | None = None,
    field_errors: dict[str, str] | None = None,
) -> tuple[str, int]:
    notice = NOTICES.get(request.args.get("notice", ""))
    return (
        render_template(
            "learner/credential.html",
            sub=view,
            credential=view.credential,
            stacks=view.course.stacks_containing(view.credential.id),
            answers=answers if answers is not None else view.answers,
            reflections=reflections if reflections is not None else view.reflections,
            problems=problems or [],
            # Each field's own message, tied to it (aria-describedby): "answer-<id>", "reflection-<id>", ...
            field_errors=field_errors or {},
            error=error,
            notice=notice,
            max_upload_bytes=settings().max_upload_bytes,
            max_upload_mb=settings().max_upload_bytes // (1024 * 1024),
        ),
        status,
    )


@bp.get("/credentials/<key>")
@require_role(LEARNER)
def credential(key: str) -> Any:
    actor = current_actor()
    view = evidence.open_submission(db(), actor.context_id, actor.user_id, key)
    return _render_credential(view)


@bp.post("/credentials/<key>")
@require_role(LEARNER)
def save(key: str) -> Any:
    """Save draft, or (action=submit) save then submit for review."""
    actor = current_actor()
    answers, reflections = _texts("answer-"), _texts("reflection-")
    submitting = request.form.get("action") == "submit"
    try:
        if submitting:
            evidence.save_and_submit(db(), actor.context_id, actor.user_id, key, answers, reflections)
        else:
            evidence.save_draft(db(), actor.context_id, actor.user_id, key, answers, reflections)
    except ServiceError as exc:
        if _page_level(exc):
            raise
        # The draft was saved before the submission was refused; show the typed text and what is missing.
        view = evidence.open_submission(db(), actor.context_id, actor.user_id, key)
        checked = isinstance(exc, EvidenceIncomplete | WordLimitExceeded)
        problems = exc.problems if isinstance(exc, EvidenceIncomplete | WordLimitExceeded) else []
        refs = [ArtifactRef(a.requirement_id, a.label) for a in view.artifacts]
        fields = field_problems(
            view.credential.requirements,
            answers,
            reflections,
            refs,
            complete=isinstance(exc, EvidenceIncomplete),
        )
        return _render_credential(
            view,
            status=exc.status,
            problems=problems,
            error=exc.message,
            answers=answers,
            reflections=reflections,
            field_errors=fields if checked else {},
        )
    return redirect(url("learner.credential", key=key, notice="submitted" if submitting else "saved"), 303)


@bp.errorhandler(RequestEntityTooLarge)
def _upload_too_large(exc: RequestEntityTooLarge) -> Any:
    # Werkzeug refuses the whole body, so nothing of the form can be read; treat it as empty, so the
    # session and its token still work, and show the evidence page again with the draft as it was saved.
    request.__dict__.update(form=ImmutableMultiDict(), files=ImmutableMultiDict())
    key = (request.view_args or {}).get("key")
    actor = current_actor()
    limit_mb = settings().max_upload_bytes // (1024 * 1024)
    message = f"That upload is larger than the {limit_mb} MB limit. Nothing was saved; your draft is intact."
    if request.endpoint != "learner.add_artifact" or not key or not actor.has(LEARNER):
        return error_response(413, "upload_too_large", message)
    try:
        view = evidence.open_submission(db(), actor.context_id, actor.user_id, key)
    except ServiceError:
        return error_response(413, "upload_too_large", message)
    return _render_credential(view, status=413, error=message)


@bp.post("/credentials/<key>/artifacts")
@require_role(LEARNER)
def add_artifact(key: str) -> Any:
    actor = current_actor()
    requirement_id = request.form.get("requirement_id", "")
    label = request.form.get("label", "").strip()
    upload = request.files.get("file")
    link = request.form.get("url", "").strip()
    try:
        if upload is not None and upload.filename:
            artifacts.add_file_artifact(
                db(),
                FileStore(settings().upload_dir),
                actor.context_id,
                actor.user_id,
                key,
                requirement_id,
                upload.filename,
                upload.mimetype or "",
                cast(BinaryIO, upload.stream),
                settings().max_upload_bytes,
                label,
                quota_bytes=settings().learner_quota_bytes,
            )
        elif link:
            artifacts.add_link_artifact(
                db(), actor.context_id, actor.user_id, key, requirement_id, link, label
            )
        else:
            raise ServiceError("no_artifact", "Choose a file to upload or paste a link.")
    except ServiceError as exc:
        if _page_level(exc):
            raise
        view = evidence.open_submission(db(), actor.context_id, actor.user_id, key)
        return _render_credential(view, status=UPLOAD_STATUS.get(exc.code, exc.status), error=exc.message)
    return redirect(url("learner.credential", key=key, notice="artifact_added"), 303)


@bp.post("/credentials/<key>/artifacts/<id:artifact_id>/remove")
@require_role(LEARNER)
def remove_artifact(key: str, artifact_id: int) -> Any:
    actor = current_actor()
    try:
        artifacts.remove_artifact(
            db(), actor.context_id, actor.user_id, key, artifact_id, FileStore(settings().upload_dir)
        )
    except ServiceError as exc:
        if _page_level(exc):
            raise
        view = evidence.open_submission(db(), actor.context_id, actor.user_id, key)
        return _render_credential(view, status=exc.status, error=exc.message)
    return redirect(url("learner.credential", key=key, notice="artifact_removed"), 303)


@bp.get("/artifacts/<id:artifact_id>")
@require_role(LEARNER, ASSESSOR, DESIGNER)
def artifact(artifact_id: int) -> Response | Any:
    """An uploaded file, for its owner and for the assessors and designers of the same course."""
    actor = current_actor()
    found = artifact_files.artifact_file(
        db(),
        FileStore(settings().upload_dir),
        actor.context_id,
        actor.user_id,
        actor.has(ASSESSOR, DESIGNER),
        artifact_id,
    )
    # Served as the type its content was recognised as at upload (HTML, SVG and scripts are never accepted);
    # only images, PDF and video open in the browser, everything else is a download. nosniff: the browser
    # never second-guesses the type; the sandboxing policy: even a file opened on its own runs no script.
    response = send_file(
        found.path,
        mimetype=found.content_type,
        as_attachment=not found.inline,
        download_name=found.filename,
        max_age=0,
    )
    response.headers["Cache-Control"] = "private, no-store"
    return artifact_previews.protect(response)

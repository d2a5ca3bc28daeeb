"""Small use cases the audience pages need that the core services do not offer on their own.

Each function is still one job for one view: the page asks once and renders what it gets.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select

from ..db import Database
from ..db.models import Artifact, Context, Grant, Submission
from ..domain import uploads
from ..storage import FileStore
from . import assessment, evidence
from .assessment import DecisionResult
from .course_maps import CourseSummary, list_courses
from .errors import NotFound
from .evidence import SubmissionView
from .grants import GrantView
from .progress import CourseDashboard, course_dashboard


def save_and_submit(
    db: Database,
    context_id: int,
    user_id: int,
    credential_key: str,
    answers: dict[str, str],
    reflections: dict[str, str],
) -> SubmissionView:
    """ "Submit for review": what was typed is saved first, so a refused submission loses nothing."""
    evidence.save_draft(db, context_id, user_id, credential_key, answers, reflections)
    return evidence.submit(db, context_id, user_id, credential_key)


@dataclass(frozen=True)
class ArtifactFile:
    path: Path
    filename: str
    content_type: str  # an accepted type as detected at upload; anything else application/octet-stream
    inline: bool = False  # images, PDF and video are shown in the browser; everything else is a download


def artifact_file(
    db: Database, store: FileStore, context_id: int, user_id: int, may_see_course: bool, artifact_id: int
) -> ArtifactFile:
    """An uploaded artifact for its owner, or for an assessor/designer of the same course; else NotFound."""
    with db.read() as session:
        row = session.execute(
            select(Artifact, Submission.user_id)
            .join(Submission, Submission.id == Artifact.submission_id)
            .where(Artifact.id == artifact_id, Submission.context_id == context_id)
        ).first()
    if row is None:
        raise NotFound("unknown_artifact", "No such artifact in this course.")
    artifact, owner_id = row
    if (owner_id != user_id and not may_see_course) or artifact.storage_key is None:
        raise NotFound("unknown_artifact", "No such artifact in this course.")
    path = store.path(artifact.storage_key)
    if not path.is_file():
        raise NotFound("artifact_missing", "The file for this artifact is no longer in storage.")
    content_type = uploads.served_content_type(artifact.content_type)
    return ArtifactFile(
        path=path,
        filename=uploads.clean_filename(artifact.filename or f"artifact-{artifact.id}"),
        content_type=content_type,
        inline=uploads.served_inline(content_type),
    )


@dataclass(frozen=True)
class DecisionReport:
    result: DecisionResult
    learner_name: str
    credential_title: str
    grants: list[GrantView]


def decide_and_report(
    db: Database, context_id: int, submission_id: int, assessor_id: int, scores: dict[str, str], feedback: str
) -> DecisionReport:
    """Record the assessor's decision, and describe it (with any CEU grants it caused) for the page."""
    result = assessment.decide(db, context_id, submission_id, assessor_id, scores, feedback)
    view, learner_name = assessment.review_detail(db, context_id, submission_id)
    grant_ids = [gid for gid, _, _ in result.new_grants]
    grants: list[GrantView] = []
    if grant_ids:
        with db.read() as session:
            grants = [
                GrantView(
                    g.id,
                    g.kind,
                    g.target_key,
                    g.title,
                    g.contact_hours,
                    g.ceus,
                    g.map_version_id,
                    g.granted_at,
                )
                for g in session.scalars(select(Grant).where(Grant.id.in_(grant_ids)).order_by(Grant.id))
            ]
    return DecisionReport(result, learner_name, view.credential.title, grants)


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

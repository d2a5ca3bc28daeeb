"""An uploaded artifact's file, for its owner or for staff of the same course."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select

from ..db import Database
from ..db.models import Artifact, Submission
from ..domain import uploads
from ..storage import FileStore
from .errors import NotFound


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

"""A learner's artifacts for a micro-credential: links and uploaded files, checked (kind, type, count,
quota) before anything is written, and removed while the evidence is editable."""

from __future__ import annotations

from typing import BinaryIO
from urllib.parse import urlparse

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..db import Database
from ..db.base import utcnow
from ..db.models import Artifact, Submission
from ..domain import links, uploads
from ..domain.definitions import ArtifactInput, ArtifactRequirement, Credential
from ..domain.submissions import SubmissionState, can_edit
from ..storage import FileStore, TooLarge
from . import filetypes
from .errors import NotFound, ServiceError
from .evidence import SubmissionView, _credential, _editable, _find, _not_editable, _view
from .learner_maps import learner_course
from .scope import lock_learner
from .storage_cleanup import delete_if_unreferenced

MAX_URL = 2048  # artifacts.url
MAX_LABEL = 255  # artifacts.label
MB = 1024 * 1024


def _requirement(credential: Credential, requirement_id: str) -> ArtifactRequirement:
    for requirement in credential.requirements.artifacts:
        if requirement.id == requirement_id:
            return requirement
    raise ServiceError("unknown_artifact", f"Unknown artifact requirement {requirement_id!r}.")


def _mb(n: int) -> str:
    return f"{n // MB} MB" if n % MB == 0 else f"{n / MB:.1f} MB"


def _used_bytes(session: Session, context_id: int, user_id: int) -> int:
    """What the learner keeps in uploaded files in this course (every artifact row counts)."""
    used = session.scalar(
        select(func.coalesce(func.sum(Artifact.size_bytes), 0))
        .select_from(Artifact)
        .join(Submission, Submission.id == Artifact.submission_id)
        .where(Submission.context_id == context_id, Submission.user_id == user_id)
    )
    return int(used or 0)


def _over_quota(used: int, quota_bytes: int) -> ServiceError:
    return ServiceError(
        "quota_exceeded",
        f"You have used {_mb(used)} of your {_mb(quota_bytes)} for uploaded files in this course, and this "
        "file does not fit. Remove an artifact you no longer need, or add a link instead. Nothing was saved.",
    )


def _check_room(
    session: Session,
    submission_id: int | None,
    requirement: ArtifactRequirement,
    context_id: int,
    user_id: int,
    quota_bytes: int | None,
    incoming_bytes: int,
) -> int | None:
    """Refuse an artifact beyond the requirement's maximum, or a file beyond the learner's quota.
    Returns the bytes still free under the quota (None: no quota)."""
    if submission_id is not None:
        count = session.scalar(
            select(func.count())
            .select_from(Artifact)
            .where(Artifact.submission_id == submission_id, Artifact.requirement_id == requirement.id)
        )
        if (count or 0) >= requirement.max_count:
            raise ServiceError(
                "too_many_artifacts",
                f"At most {requirement.max_count} for: {requirement.description} Remove one to add another.",
            )
    if quota_bytes is None:
        return None
    used = _used_bytes(session, context_id, user_id)
    if used + max(incoming_bytes, 1) > quota_bytes:
        raise _over_quota(used, quota_bytes)
    return quota_bytes - used


def _attach(
    db: Database,
    context_id: int,
    user_id: int,
    credential_key: str,
    artifact: Artifact,
    quota_bytes: int | None = None,
) -> SubmissionView:
    """Add one artifact to the learner's editable evidence, within the requirement's maximum and (for a
    file) the learner's storage quota."""
    with db.transaction() as session:
        lock_learner(session, context_id, user_id)
        sub, course, credential = _editable(session, context_id, user_id, credential_key)
        requirement = _requirement(credential, artifact.requirement_id)
        _check_accepted_input(requirement, artifact)
        _check_room(
            session,
            sub.id,
            requirement,
            context_id,
            user_id,
            quota_bytes if artifact.storage_key else None,
            artifact.size_bytes or 0,
        )
        artifact.submission_id = sub.id
        session.add(artifact)
        sub.updated_at = utcnow()
        session.flush()
        return _view(session, course, credential, sub)


def _files_refused(requirement: ArtifactRequirement) -> ServiceError:
    if ArtifactInput.LINK in requirement.accepts:
        return ServiceError(
            "links_only", "This requirement takes a link, not a file: paste the address instead."
        )
    return ServiceError(
        "video_links_only",
        "This requirement takes a video link, not a file: paste the address of the video "
        f"({links.describe_video_links()}).",
    )


def _check_accepted_input(requirement: ArtifactRequirement, artifact: Artifact) -> None:
    """A link only where the requirement takes links (a video link where it takes only those), a file only
    where it takes files: what the course map says, whatever the page offered."""
    if artifact.url is not None:
        refusal = links.link_refusal(requirement.accepts, artifact.url)
        if refusal is not None:
            raise ServiceError(refusal.code, refusal.message)
    elif ArtifactInput.FILE not in requirement.accepts:
        raise _files_refused(requirement)


def _label(label: str) -> str:
    label = label.strip()
    if len(label) > MAX_LABEL:
        raise ServiceError(
            "label_too_long", f"A label can be at most {MAX_LABEL} characters; this one has {len(label)}."
        )
    return label


def _shorten(text: str, limit: int = MAX_LABEL) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def _link(url: str) -> str:
    """A full http(s) address with a host, within the column's length; anything else is refused."""
    url = url.strip()
    if len(url) > MAX_URL:
        raise ServiceError(
            "link_too_long", f"A link can be at most {MAX_URL} characters; this one has {len(url)}."
        )
    bad = ServiceError("bad_link", "Links must be full http(s) addresses, e.g. https://video.example/lesson.")
    if any(c.isspace() or uploads.is_control_or_bidi(c) for c in url):
        raise bad
    try:
        parsed = urlparse(url)
        host = parsed.hostname
        parsed.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:  # e.g. an unclosed IPv6 bracket, a port that is not a number
        raise bad from None
    if parsed.scheme not in ("http", "https") or not host:
        raise bad
    return url


def add_link_artifact(
    db: Database,
    context_id: int,
    user_id: int,
    credential_key: str,
    requirement_id: str,
    url: str,
    label: str,
) -> SubmissionView:
    url = _link(url)
    artifact = Artifact(requirement_id=requirement_id, label=_label(label) or _shorten(url), url=url)
    return _attach(db, context_id, user_id, credential_key, artifact)


def _check_before_upload(
    db: Database,
    context_id: int,
    user_id: int,
    credential_key: str,
    requirement_id: str,
    quota_bytes: int | None,
) -> tuple[ArtifactRequirement, int | None]:
    """Everything that can refuse a file before it is read: requirement, state, maximum count, quota.
    ``_attach`` checks the same again under the learner's lock."""
    with db.read() as session:
        course = learner_course(session, context_id, user_id).course
        requirement = _requirement(_credential(course, credential_key), requirement_id)
        if ArtifactInput.FILE not in requirement.accepts:
            raise _files_refused(requirement)
        sub = _find(session, context_id, user_id, credential_key)
        if sub is not None and not can_edit(SubmissionState(sub.state)):
            raise _not_editable(SubmissionState(sub.state))
        room = _check_room(session, sub.id if sub else None, requirement, context_id, user_id, quota_bytes, 0)
        return requirement, room


def _accepted(found: filetypes.Detected, requirement: ArtifactRequirement) -> uploads.FileKind:
    kind = uploads.BY_MIME.get(found.mime or "")
    if kind is None or not uploads.is_accepted(requirement.kind, kind.mime):
        raise ServiceError(
            "unsupported_file_type",
            f"That file was recognised as {found.description}. Accepted for "
            f"{requirement.kind.value.replace('_', ' ')}: {uploads.describe_accepted(requirement.kind)}. "
            "Nothing was saved.",
        )
    return kind


def add_file_artifact(
    db: Database,
    store: FileStore,
    context_id: int,
    user_id: int,
    credential_key: str,
    requirement_id: str,
    filename: str,
    content_type: str,
    stream: BinaryIO,
    max_bytes: int,
    label: str = "",
    quota_bytes: int | None = None,
) -> SubmissionView:
    """Add an uploaded file. Its type is what its content shows (``content_type``, the browser's claim, is
    not trusted); a refused file leaves nothing on disk, and the stored file appears only once its row is
    committed, so a refusal never removes a file another artifact shares."""
    label = _label(label)
    # Refuse what can be refused before the upload is read, so a refused file costs nothing.
    requirement, room = _check_before_upload(
        db, context_id, user_id, credential_key, requirement_id, quota_bytes
    )

    def inspect_head(head: bytes) -> None:
        if not head:
            raise ServiceError("empty_upload", "That file is empty. Nothing was saved.")
        found = filetypes.identify_head(head)
        if found is not None:
            _accepted(found, requirement)

    limit = max_bytes if room is None else min(max_bytes, room)
    try:
        pending = store.receive(stream, limit, inspect_head)
    except TooLarge:
        if room is not None and quota_bytes is not None and limit < max_bytes:
            raise _over_quota(quota_bytes - room, quota_bytes) from None
        raise ServiceError(
            "upload_too_large",
            f"That file is larger than the {_mb(max_bytes)} limit. Nothing was saved.",
        ) from None
    with pending:  # not kept: the temporary file is deleted
        kind = _accepted(filetypes.identify(pending.path), requirement)
        name = uploads.with_extension(uploads.clean_filename(filename), kind)
        stored = pending.stored
        artifact = Artifact(
            requirement_id=requirement_id,
            label=label or name,
            filename=name,
            content_type=kind.mime,
            size_bytes=stored.size_bytes,
            sha256=stored.sha256,
            storage_key=stored.storage_key,
        )
        view = _attach(db, context_id, user_id, credential_key, artifact, quota_bytes)
        pending.keep()
    return view


def remove_artifact(
    db: Database,
    context_id: int,
    user_id: int,
    credential_key: str,
    artifact_id: int,
    store: FileStore | None = None,
) -> SubmissionView:
    """Remove an artifact; with ``store``, its file too unless another artifact shares the content."""
    with db.transaction() as session:
        lock_learner(session, context_id, user_id)
        sub, course, credential = _editable(session, context_id, user_id, credential_key)
        artifact = session.get(Artifact, artifact_id)
        if artifact is None or artifact.submission_id != sub.id:
            raise NotFound("unknown_artifact", "That artifact is not part of this evidence.")
        storage_key = artifact.storage_key
        session.delete(artifact)
        sub.updated_at = utcnow()
        session.flush()
        view = _view(session, course, credential, sub)
    if store is not None and storage_key is not None:
        delete_if_unreferenced(db, store, storage_key)
    return view

"""Typed SQLAlchemy models. The schema itself comes only from the Alembic revisions in migrations/."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, unique_while_live, utcnow

# --- platforms, people and courses as the LMS knows them -------------------------------------------


class Platform(Base):
    """An LTI 1.3 platform registration (issuer + client id)."""

    __tablename__ = "platforms"
    __table_args__ = (UniqueConstraint("issuer", "client_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    issuer: Mapped[str] = mapped_column(String(255))
    client_id: Mapped[str] = mapped_column(String(255))
    name: Mapped[str] = mapped_column(String(255), default="")
    auth_login_url: Mapped[str] = mapped_column(String(1024))
    auth_token_url: Mapped[str] = mapped_column(String(1024))
    auth_token_audience: Mapped[str | None] = mapped_column(String(1024))
    jwks_url: Mapped[str] = mapped_column(String(1024))
    product_family: Mapped[str] = mapped_column(String(64), default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    deployments: Mapped[list[Deployment]] = relationship(back_populates="platform")


class Deployment(Base):
    __tablename__ = "deployments"
    __table_args__ = (UniqueConstraint("platform_id", "deployment_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    platform_id: Mapped[int] = mapped_column(ForeignKey("platforms.id", ondelete="CASCADE"))
    deployment_id: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    platform: Mapped[Platform] = relationship(back_populates="deployments")


class User(Base):
    __tablename__ = "users"
    __table_args__ = (
        UniqueConstraint("platform_id", "sub"),
        # The designer's learner list, by name (migration 0014).
        Index("ix_users_name_lower", func.lower(text("name")), "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    platform_id: Mapped[int] = mapped_column(ForeignKey("platforms.id", ondelete="CASCADE"))
    sub: Mapped[str] = mapped_column(String(255))
    name: Mapped[str] = mapped_column(String(255), default="")
    email: Mapped[str] = mapped_column(String(255), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Context(Base):
    """A course (LTI context) in one deployment, bound to one course map."""

    __tablename__ = "contexts"
    __table_args__ = (UniqueConstraint("deployment_id", "context_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    deployment_id: Mapped[int] = mapped_column(ForeignKey("deployments.id", ondelete="CASCADE"))
    context_id: Mapped[str] = mapped_column(String(255))
    title: Mapped[str] = mapped_column(String(255), default="")
    label: Mapped[str] = mapped_column(String(255), default="")
    course_key: Mapped[str | None] = mapped_column(ForeignKey("courses.key"))
    memberships_url: Mapped[str | None] = mapped_column(String(1024))
    lineitems_url: Mapped[str | None] = mapped_column(String(1024))
    # The scopes the last launch's AGS claim offered, space-separated; NULL before any (then the gradebook
    # asks for lineitem + score, as it always did).
    ags_scopes: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # A launch binds only an unbound course; when a placement's course_map parameter names another loaded
    # map than the binding, the last such value (and when) is kept here to warn the course designer.
    disagreeing_course_map: Mapped[str | None] = mapped_column(String(128))
    disagreeing_course_map_at: Mapped[datetime | None] = mapped_column()


class Membership(Base):
    """A user's roles in a context. Also the row locked while a learner's grants are decided."""

    __tablename__ = "memberships"
    __table_args__ = (UniqueConstraint("context_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    context_id: Mapped[int] = mapped_column(ForeignKey("contexts.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    roles: Mapped[list[Any]] = mapped_column(
        JSON, default=list
    )  # the tool's roles: learner/assessor/designer
    status: Mapped[str] = mapped_column(String(32), default="Active")
    source: Mapped[str] = mapped_column(String(16), default="launch")  # launch | roster
    last_launch_at: Mapped[datetime | None] = mapped_column()


class CourseEditor(Base):
    """A teacher the tool lets change what a course follows (its map, placements, editors): the course's
    editors list (services/editors.py). A removed editor keeps the row, with ``removed_at``, so that a later
    Deep Linking launch does not silently add them back."""

    __tablename__ = "course_editors"
    __table_args__ = (UniqueConstraint("context_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    context_id: Mapped[int] = mapped_column(ForeignKey("contexts.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    source: Mapped[str] = mapped_column(String(16))  # deep_linking | bound_map | added
    added_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    added_at: Mapped[datetime] = mapped_column(default=utcnow)
    removed_at: Mapped[datetime | None] = mapped_column()
    removed_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


# --- course maps, versioned ------------------------------------------------------------------------


class Course(Base):
    __tablename__ = "courses"

    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    title: Mapped[str] = mapped_column(String(255))
    current_version_id: Mapped[int | None] = mapped_column(ForeignKey("course_map_versions.id"))


class CourseMapVersion(Base):
    """One loaded version of a course map file. Rows are never rewritten: an edit adds a version."""

    __tablename__ = "course_map_versions"
    __table_args__ = (
        UniqueConstraint("course_key", "content_hash"),
        UniqueConstraint("course_key", "revision"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    course_key: Mapped[str] = mapped_column(String(128))
    revision: Mapped[int] = mapped_column(Integer)
    version_label: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(255))
    content_hash: Mapped[str] = mapped_column(String(64))
    source_path: Mapped[str] = mapped_column(String(1024))
    document: Mapped[dict[str, Any]] = mapped_column(JSON)
    loaded_at: Mapped[datetime] = mapped_column(default=utcnow)


class StackDef(Base):
    __tablename__ = "stack_defs"
    __table_args__ = (UniqueConstraint("map_version_id", "stack_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    map_version_id: Mapped[int] = mapped_column(ForeignKey("course_map_versions.id", ondelete="CASCADE"))
    stack_key: Mapped[str] = mapped_column(String(128))
    title: Mapped[str] = mapped_column(String(255))
    contact_hours: Mapped[Decimal] = mapped_column(Numeric(6, 2))
    choose: Mapped[int] = mapped_column(Integer, default=0)


class StackCredential(Base):
    __tablename__ = "stack_credentials"
    __table_args__ = (UniqueConstraint("stack_def_id", "credential_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    stack_def_id: Mapped[int] = mapped_column(ForeignKey("stack_defs.id", ondelete="CASCADE"))
    credential_key: Mapped[str] = mapped_column(String(128))
    required: Mapped[bool] = mapped_column(Boolean, default=True)


class CredentialDef(Base):
    __tablename__ = "credential_defs"
    __table_args__ = (UniqueConstraint("map_version_id", "credential_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    map_version_id: Mapped[int] = mapped_column(ForeignKey("course_map_versions.id", ondelete="CASCADE"))
    credential_key: Mapped[str] = mapped_column(String(128))
    title: Mapped[str] = mapped_column(String(255))


class LearnerStackVersion(Base):
    """The map version a learner is judged by for one stack: the one live at their first evidence action
    on any of its credentials, until a course designer moves them on. No row: the live version."""

    __tablename__ = "learner_stack_versions"
    __table_args__ = (
        UniqueConstraint("context_id", "user_id", "course_key", "stack_key"),
        Index("ix_learner_stack_versions_context_version", "context_id", "map_version_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    context_id: Mapped[int] = mapped_column(ForeignKey("contexts.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    course_key: Mapped[str] = mapped_column(String(128))
    stack_key: Mapped[str] = mapped_column(String(128))
    map_version_id: Mapped[int] = mapped_column(ForeignKey("course_map_versions.id"))
    started_at: Mapped[datetime] = mapped_column(default=utcnow)


class CourseMapUpload(Base):
    """A new version of a course map a designer uploaded on the designer pages, checked and waiting for
    their confirmation; ``published_version_id`` is set when it is published."""

    __tablename__ = "course_map_uploads"

    id: Mapped[int] = mapped_column(primary_key=True)
    context_id: Mapped[int] = mapped_column(ForeignKey("contexts.id", ondelete="CASCADE"))
    course_key: Mapped[str] = mapped_column(String(128))
    uploaded_by: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    filename: Mapped[str] = mapped_column(String(255))
    document: Mapped[dict[str, Any]] = mapped_column(JSON)
    content_hash: Mapped[str] = mapped_column(String(64))
    warnings: Mapped[list[Any]] = mapped_column(JSON, default=list)
    base_version_id: Mapped[int] = mapped_column(ForeignKey("course_map_versions.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    published_version_id: Mapped[int | None] = mapped_column(ForeignKey("course_map_versions.id"))
    published_at: Mapped[datetime | None] = mapped_column()


# --- evidence, assessment, grants --------------------------------------------------------------------


class Submission(Base):
    """A learner's evidence for one micro-credential in one course; attempts count resubmissions."""

    __tablename__ = "submissions"
    __table_args__ = (
        UniqueConstraint("context_id", "user_id", "credential_key"),
        Index("ix_submissions_state_context", "context_id", "state"),
        # The latest change to a course's evidence: is the designer's report still current (migration 0014)?
        Index("ix_submissions_context_updated", "context_id", "updated_at"),
        # The review queue: a course's waiting evidence, oldest first, one page at a time.
        Index("ix_submissions_queue", "context_id", "state", "submitted_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    context_id: Mapped[int] = mapped_column(ForeignKey("contexts.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    course_key: Mapped[str] = mapped_column(String(128))
    credential_key: Mapped[str] = mapped_column(String(128))
    map_version_id: Mapped[int] = mapped_column(ForeignKey("course_map_versions.id"))
    state: Mapped[str] = mapped_column(String(16), default="draft")
    attempt: Mapped[int] = mapped_column(Integer, default=1)
    answers: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    reflections: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    submitted_at: Mapped[datetime | None] = mapped_column()
    earned_at: Mapped[datetime | None] = mapped_column()


class Artifact(Base):
    __tablename__ = "artifacts"

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id", ondelete="CASCADE"), index=True)
    requirement_id: Mapped[str] = mapped_column(String(128))
    label: Mapped[str] = mapped_column(String(255), default="")
    url: Mapped[str | None] = mapped_column(String(2048))
    filename: Mapped[str | None] = mapped_column(String(255))
    content_type: Mapped[str | None] = mapped_column(String(128))
    size_bytes: Mapped[int | None] = mapped_column(Integer)
    sha256: Mapped[str | None] = mapped_column(String(64))
    storage_key: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Assessment(Base):
    """One reviewer's scores and feedback on one attempt (alone, or as one of a panel). A person counts once
    per attempt (the unique key); the attempt's outcome is its ``AttemptDecision``."""

    __tablename__ = "assessments"
    __table_args__ = (UniqueConstraint("submission_id", "attempt", "assessor_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id", ondelete="CASCADE"))
    attempt: Mapped[int] = mapped_column(Integer)
    # None: an operator's decision (a revocation from the command line), not a course member's.
    assessor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decision: Mapped[str] = mapped_column(String(16))  # earned | not_yet | revoked
    scores: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    feedback: Mapped[str] = mapped_column(Text, default="")
    map_version_id: Mapped[int] = mapped_column(ForeignKey("course_map_versions.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class AttemptDecision(Base):
    """The outcome of one attempt: earned, not yet, or revoked; decided by one assessor or by a panel's
    rule once enough reviews are in. The unique key makes the decision (and so the grant) happen once."""

    __tablename__ = "attempt_decisions"
    __table_args__ = (
        UniqueConstraint("submission_id", "attempt"),
        Index("ix_attempt_decisions_decided", "decided_at", "id"),  # the history, newest first
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id", ondelete="CASCADE"))
    attempt: Mapped[int] = mapped_column(Integer)
    decision: Mapped[str] = mapped_column(String(16))  # earned | not_yet | revoked
    rule: Mapped[str] = mapped_column(String(16))  # single | majority | unanimous | revocation
    reviews: Mapped[int] = mapped_column(Integer, default=1)
    map_version_id: Mapped[int] = mapped_column(ForeignKey("course_map_versions.id"))
    decided_at: Mapped[datetime] = mapped_column(default=utcnow)


class ReviewClaim(Base):
    """An assessor holding a submission while they review it: others are told, not blocked. A claim ends
    at ``expires_at`` or when ``released_at`` is set (released, or the assessor decided)."""

    __tablename__ = "review_claims"
    __table_args__ = (
        UniqueConstraint("submission_id", "assessor_id"),
        Index("ix_review_claims_submission", "submission_id", "expires_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id", ondelete="CASCADE"))
    assessor_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    attempt: Mapped[int] = mapped_column(Integer)
    claimed_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()
    released_at: Mapped[datetime | None] = mapped_column()


class SubmissionAttempt(Base):
    """What the learner submitted in one attempt, kept as it was: the review page shows what changed since
    the previous attempt, and staff see every attempt."""

    __tablename__ = "submission_attempts"
    __table_args__ = (UniqueConstraint("submission_id", "attempt"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id", ondelete="CASCADE"))
    attempt: Mapped[int] = mapped_column(Integer)
    answers: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    reflections: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # [{"id", "requirement_id", "label", "url", "filename", "content_type", "size_bytes", "sha256"}]
    artifacts: Mapped[list[Any]] = mapped_column(JSON, default=list)
    map_version_id: Mapped[int] = mapped_column(ForeignKey("course_map_versions.id"))
    submitted_at: Mapped[datetime] = mapped_column(default=utcnow)


class EmailMessage(Base):
    """A notification e-mail: written with its cause (through the outbox), then sent by SMTP, or kept for
    the development platform's mailbox page in embedded mode. ``dedupe_key`` stops a repeat."""

    __tablename__ = "email_messages"
    __table_args__ = (Index("ix_email_messages_created", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    dedupe_key: Mapped[str | None] = mapped_column(String(255), unique=True)
    kind: Mapped[str] = mapped_column(String(32))  # decision | waiting_work | ...
    context_id: Mapped[int | None] = mapped_column(ForeignKey("contexts.id", ondelete="CASCADE"))
    to_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    to_address: Mapped[str] = mapped_column(String(320))
    subject: Mapped[str] = mapped_column(String(255))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column()
    transport: Mapped[str | None] = mapped_column(String(16))  # smtp | mailbox
    error: Mapped[str | None] = mapped_column(Text)


class Grant(Base):
    """A CEU grant (per stack) or a course award. The unique index over live (unrevoked) grants makes it
    happen exactly once; a revoked grant stays, and the learner may earn it again."""

    __tablename__ = "grants"
    __table_args__ = (unique_while_live("uq_grants_live", "context_id", "user_id", "kind", "target_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    context_id: Mapped[int] = mapped_column(ForeignKey("contexts.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))  # stack | course_award
    target_key: Mapped[str] = mapped_column(String(128))
    title: Mapped[str] = mapped_column(String(255))
    course_key: Mapped[str] = mapped_column(String(128))
    map_version_id: Mapped[int] = mapped_column(ForeignKey("course_map_versions.id"))
    contact_hours: Mapped[Decimal] = mapped_column(Numeric(6, 2))
    ceus: Mapped[Decimal] = mapped_column(Numeric(5, 1))
    granted_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column()
    revoked_reason: Mapped[str | None] = mapped_column(Text)


class AuditEvent(Base):
    """Append-only: database triggers refuse UPDATE and DELETE."""

    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_subject", "subject_type", "subject_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    occurred_at: Mapped[datetime] = mapped_column(default=utcnow)
    actor_user_id: Mapped[int | None] = mapped_column(Integer)
    actor: Mapped[str] = mapped_column(String(255))
    action: Mapped[str] = mapped_column(String(64))
    subject_type: Mapped[str] = mapped_column(String(64))
    subject_id: Mapped[str] = mapped_column(String(128))
    context_id: Mapped[int | None] = mapped_column(Integer)
    map_version_id: Mapped[int | None] = mapped_column(Integer)
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class OutboxMessage(Base):
    """Work that must leave the system, written in the same transaction as its cause."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_pending", "delivered_at", "available_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    topic: Mapped[str] = mapped_column(String(64))
    dedupe_key: Mapped[str | None] = mapped_column(String(255), unique=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    available_at: Mapped[datetime] = mapped_column(default=utcnow)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    delivered_at: Mapped[datetime | None] = mapped_column()
    dead: Mapped[bool] = mapped_column(Boolean, default=False)

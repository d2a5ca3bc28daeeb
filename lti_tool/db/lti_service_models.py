"""Tables of the LTI Advantage services: placements and gradebook line items, shared access tokens, the dev
platform's inbox.

Kept apart from models.py because they belong to the LTI adapter, not to the credential domain.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Index, String, Text, UniqueConstraint, true
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, utcnow


class Placement(Base):
    """A resource link of the tool in a course (the launch's ``resource_link.id``), what it shows (its
    custom ``stack`` / ``credential``), and the gradebook column its launches offer (the AGS ``lineitem``)."""

    __tablename__ = "placements"
    __table_args__ = (
        UniqueConstraint("context_id", "resource_link_id"),
        Index("ix_placements_target", "context_id", "target_kind", "target_key"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    context_id: Mapped[int] = mapped_column(ForeignKey("contexts.id", ondelete="CASCADE"))
    resource_link_id: Mapped[str] = mapped_column(String(255))
    target_kind: Mapped[str | None] = mapped_column(String(16))  # credential | stack | NULL (no target)
    target_key: Mapped[str | None] = mapped_column(String(128))
    lineitem_url: Mapped[str | None] = mapped_column(String(1024))
    ags_scopes: Mapped[str | None] = mapped_column(Text)  # the claim's scopes, space-separated
    # False: placed without a grade column on purpose (the picker's custom ``gradebook=none``, so that a
    # stack and its credentials do not count the same work twice): the tool makes no column for it either.
    graded: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class LineItem(Base):
    """The tool's own column for one credential or stack in a course gradebook (found by its resourceId or
    created by the tool), used while no placement of that credential or stack offers a line item."""

    __tablename__ = "line_items"
    __table_args__ = (UniqueConstraint("context_id", "kind", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    context_id: Mapped[int] = mapped_column(ForeignKey("contexts.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))  # credential | stack
    key: Mapped[str] = mapped_column(String(128))
    lineitem_url: Mapped[str] = mapped_column(String(1024))
    # True only for a column the tool POSTed itself: the only kind it may delete once a placement replaces it.
    created_by_tool: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class RetiredLineItem(Base):
    """A column the tool stopped writing to because a placement's line item took its place. ``deleted_at``
    is set once the tool deleted it; otherwise ``note`` says why it is still in the gradebook."""

    __tablename__ = "retired_line_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    context_id: Mapped[int] = mapped_column(ForeignKey("contexts.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    key: Mapped[str] = mapped_column(String(128))
    lineitem_url: Mapped[str] = mapped_column(String(1024))
    replaced_by_url: Mapped[str] = mapped_column(String(1024))
    created_by_tool: Mapped[bool] = mapped_column(Boolean, default=False)
    retired_at: Mapped[datetime] = mapped_column(default=utcnow)
    deleted_at: Mapped[datetime | None] = mapped_column()
    note: Mapped[str] = mapped_column(Text, default="")


class AccessToken(Base):
    """An OAuth2 access token for a platform's services, shared by every worker until it expires."""

    __tablename__ = "access_tokens"
    __table_args__ = (UniqueConstraint("platform_id", "scope_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    platform_id: Mapped[int] = mapped_column(ForeignKey("platforms.id", ondelete="CASCADE"))
    scope_key: Mapped[str] = mapped_column(String(64))  # sha256 of the sorted scopes
    scopes: Mapped[str] = mapped_column(Text)
    access_token: Mapped[str] = mapped_column(Text)
    expires_at: Mapped[datetime] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


# --- the development platform (DEV_PLATFORM=1): what it has received ------------------------------


class DevAssertionJti(Base):
    """Client assertion ids the dev platform's token endpoint has seen: each is accepted once."""

    __tablename__ = "dev_assertion_jtis"

    jti: Mapped[str] = mapped_column(String(255), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column()


class DevLineItem(Base):
    __tablename__ = "dev_line_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    context_id: Mapped[str] = mapped_column(String(255))
    label: Mapped[str] = mapped_column(String(255))
    score_maximum: Mapped[float] = mapped_column(Float)
    resource_id: Mapped[str] = mapped_column(String(255), default="")
    tag: Mapped[str] = mapped_column(String(255), default="")
    resource_link_id: Mapped[str] = mapped_column(String(255), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class DevScore(Base):
    """A score exactly as the dev platform received it."""

    __tablename__ = "dev_scores"

    id: Mapped[int] = mapped_column(primary_key=True)
    line_item_id: Mapped[int] = mapped_column(ForeignKey("dev_line_items.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[str] = mapped_column(String(255))
    body: Mapped[dict[str, Any]] = mapped_column(JSON)
    content_type: Mapped[str] = mapped_column(String(255))
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    score_given: Mapped[float | None] = mapped_column(Float)
    score_maximum: Mapped[float | None] = mapped_column(Float)
    activity_progress: Mapped[str] = mapped_column(String(32), default="")
    grading_progress: Mapped[str] = mapped_column(String(32), default="")
    comment: Mapped[str] = mapped_column(Text, default="")

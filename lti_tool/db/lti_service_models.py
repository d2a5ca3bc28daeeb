"""Tables of the LTI Advantage services: gradebook line items, shared access tokens, the dev platform's inbox.

Kept apart from models.py because they belong to the LTI adapter, not to the credential domain.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Float, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, utcnow


class LineItem(Base):
    """The platform line item that holds one credential's or one stack's column in a course gradebook."""

    __tablename__ = "line_items"
    __table_args__ = (UniqueConstraint("context_id", "kind", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    context_id: Mapped[int] = mapped_column(ForeignKey("contexts.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))  # credential | stack
    key: Mapped[str] = mapped_column(String(128))
    lineitem_url: Mapped[str] = mapped_column(String(1024))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


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

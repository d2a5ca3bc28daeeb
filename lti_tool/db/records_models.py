"""The records side: what the tool vouches for in public (awards: badges, CEU records, certificates), the
educator's details and consents, the Ed25519 keys badges are signed with, and deliveries to licensure
offices with their receipts and the tokens offices pull with."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, unique_while_live, utcnow


class EducatorProfile(Base):
    """What an educator confirms for their certificates and licensure records. The LMS name is only the
    default of ``legal_name``; nothing here is shown on a public page."""

    __tablename__ = "educator_profiles"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), unique=True)
    legal_name: Mapped[str] = mapped_column(String(255))
    state: Mapped[str] = mapped_column(String(2), default="")
    licence_number: Mapped[str] = mapped_column(String(64), default="")
    confirmed_at: Mapped[datetime | None] = mapped_column()
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class OfficeConsent(Base):
    """An educator's permission for one licensure office to receive their records; withdrawing keeps the
    row (``withdrawn_at``) and stops future deliveries. The audit trail keeps every change."""

    __tablename__ = "office_consents"
    __table_args__ = (UniqueConstraint("user_id", "office_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    office_key: Mapped[str] = mapped_column(String(64))
    granted_at: Mapped[datetime] = mapped_column(default=utcnow)
    withdrawn_at: Mapped[datetime | None] = mapped_column()


class Award(Base):
    """Something the tool vouches for in public: an earned micro-credential (a badge), or a grant (a stack's
    CEUs or the course award: a CEU record with a certificate, a badge, and office deliveries).

    ``public_id`` is the record id printed on certificates and used in verification URLs; the row id is the
    award's index in the badge status list. Revoking sets ``revoked_at``; the row is never deleted."""

    __tablename__ = "awards"
    __table_args__ = (
        Index("ix_awards_learner", "context_id", "user_id"),
        Index("ix_awards_grant", "grant_id"),
        # One live award per learner and target; a revoked one stays beside a re-earned one.
        unique_while_live("uq_awards_live", "context_id", "user_id", "kind", "target_key"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(32), unique=True)
    context_id: Mapped[int] = mapped_column(ForeignKey("contexts.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))  # credential | stack | course_award
    target_key: Mapped[str] = mapped_column(String(128))
    title: Mapped[str] = mapped_column(String(255))
    course_key: Mapped[str] = mapped_column(String(128))
    map_version_id: Mapped[int] = mapped_column(ForeignKey("course_map_versions.id"))
    grant_id: Mapped[int | None] = mapped_column(ForeignKey("grants.id", ondelete="CASCADE"))
    submission_id: Mapped[int | None] = mapped_column(ForeignKey("submissions.id", ondelete="CASCADE"))
    contact_hours: Mapped[Decimal | None] = mapped_column(Numeric(6, 2))
    ceus: Mapped[Decimal | None] = mapped_column(Numeric(5, 1))
    # A snapshot at issue: provider, course title, description, criteria, embedded credentials with dates.
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    issued_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column()
    revoked_reason: Mapped[str | None] = mapped_column(Text)
    # The signed Open Badges 3.0 credential, made on first request and kept (signing is not free).
    badge: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    badge_key_id: Mapped[int | None] = mapped_column(ForeignKey("badge_keys.id"))


class BadgeKey(Base):
    """An Ed25519 key badges are signed with. The newest unretired key signs; retired keys stay resolvable
    (a did:key is self-describing; the issuer profile keeps listing them) so old badges still verify."""

    __tablename__ = "badge_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    public_multibase: Mapped[str] = mapped_column(String(64), unique=True)
    private_key_pem: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    retired_at: Mapped[datetime | None] = mapped_column()


class OfficeDelivery(Base):
    """One record event (issued or revoked) meant for one licensure office. Offices that pull read these
    rows; offices that are pushed to also get an outbox message, and ``push_state`` follows the delivery:
    queued -> delivered, or parked after the last attempt (redelivered by an operator's command), or withdrawn
    when the educator withdrew consent before it left."""

    __tablename__ = "office_deliveries"
    __table_args__ = (
        UniqueConstraint("award_id", "office_key", "event"),
        Index("ix_office_deliveries_office", "office_key", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    award_id: Mapped[int] = mapped_column(ForeignKey("awards.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    office_key: Mapped[str] = mapped_column(String(64))
    event: Mapped[str] = mapped_column(String(16))  # issued | revoked
    idempotency_key: Mapped[str] = mapped_column(String(64), unique=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # None (this office is not pushed to) | queued | delivered | parked | withdrawn (consent withdrawn first)
    push_state: Mapped[str | None] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    delivered_at: Mapped[datetime | None] = mapped_column()
    parked_at: Mapped[datetime | None] = mapped_column()
    receipt: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class OfficeToken(Base):
    """A bearer token an office pulls its records with; only its SHA-256 is stored."""

    __tablename__ = "office_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    office_key: Mapped[str] = mapped_column(String(64))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    label: Mapped[str] = mapped_column(String(255), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column()
    last_used_at: Mapped[datetime | None] = mapped_column()

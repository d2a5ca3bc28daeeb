"""Tables of the LTI security layer: the tool's signing keys, OIDC login states, used nonces and the
platforms' cached key sets. Rows here never hold learner data; they make launches verifiable and single-use.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, utcnow


class ToolKey(Base):
    """An RSA key the tool signs with. The newest unretired key signs; a retired key stays published in
    ``/lti/jwks.json`` until ``published_until`` so tokens signed just before a rotation still verify."""

    __tablename__ = "tool_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    kid: Mapped[str] = mapped_column(String(64), unique=True)
    private_key_pem: Mapped[str] = mapped_column(Text)
    public_jwk: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    retired_at: Mapped[datetime | None] = mapped_column()
    published_until: Mapped[datetime | None] = mapped_column()


class OidcState(Base):
    """One OIDC login: the state and nonce we sent to the platform, and what the login asked for.
    ``used_at`` is set by the launch that consumes it (single use)."""

    __tablename__ = "oidc_states"
    __table_args__ = (Index("ix_oidc_states_expires_at", "expires_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    state: Mapped[str] = mapped_column(String(128), unique=True)
    nonce: Mapped[str] = mapped_column(String(128))
    platform_id: Mapped[int] = mapped_column(ForeignKey("platforms.id", ondelete="CASCADE"))
    deployment_id: Mapped[str | None] = mapped_column(String(255))
    target_link_uri: Mapped[str] = mapped_column(String(2048))
    storage: Mapped[str] = mapped_column(String(16), default="cookie")  # cookie | platform
    # What the platform's login initiation carried: a launch whose state cookie did not come back
    # offers to start the same login again in a new window (where the cookie works).
    login_hint: Mapped[str | None] = mapped_column(Text)
    lti_message_hint: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()
    used_at: Mapped[datetime | None] = mapped_column()


class UsedNonce(Base):
    """A nonce seen in a verified launch. The unique key refuses a replay in any browser or process."""

    __tablename__ = "used_nonces"
    __table_args__ = (
        UniqueConstraint("platform_id", "nonce"),
        Index("ix_used_nonces_expires_at", "expires_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    platform_id: Mapped[int] = mapped_column(ForeignKey("platforms.id", ondelete="CASCADE"))
    nonce: Mapped[str] = mapped_column(String(255))
    used_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()


class PlatformKeySet(Base):
    """The platform's JWKS as last fetched, shared by every process until ``expires_at``."""

    __tablename__ = "platform_key_sets"

    platform_id: Mapped[int] = mapped_column(
        ForeignKey("platforms.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    jwks_url: Mapped[str] = mapped_column(String(1024))
    keys: Mapped[list[Any]] = mapped_column(JSON, default=list)
    fetched_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()


class DeepLinkResponse(Base):
    """A deep-linking request the tool has answered. The unique ``request_id`` (minted by the launch that
    opened the picker, carried in the session and the signed ``dl`` token) makes the answer single-use:
    a second response to the same request, from any browser or process, loses on the key."""

    __tablename__ = "deep_link_responses"
    __table_args__ = (Index("ix_deep_link_responses_expires_at", "expires_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[str] = mapped_column(String(64), unique=True)
    platform_id: Mapped[int] = mapped_column(ForeignKey("platforms.id", ondelete="CASCADE"))
    context_id: Mapped[int] = mapped_column(ForeignKey("contexts.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    responded_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()


class RegistrationInvite(Base):
    """An operator's consent to one Dynamic Registration (``lti-tool platforms invite``): a one-time,
    expiring token carried in the registration URL. Only its SHA-256 is stored. ``used_at`` is claimed by
    the registration that uses it and released again if that registration fails."""

    __tablename__ = "registration_invites"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    note: Mapped[str] = mapped_column(String(255), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()
    used_at: Mapped[datetime | None] = mapped_column()
    platform_id: Mapped[int | None] = mapped_column(ForeignKey("platforms.id", ondelete="SET NULL"))

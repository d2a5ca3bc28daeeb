"""Registration invites: opening the tool to a new platform is the operator's decision.

``lti-tool platforms invite`` mints a one-time token that expires; the registration URL it prints carries
it (``/lti/register?invite=...``, to which the platform appends ``openid_configuration`` and
``registration_token``). ``/lti/register`` claims the invite before it fetches anything, releases it when
the registration fails (the operator's consent is not lost to a platform that was down), and records the
platform it produced when it succeeds. Only the token's SHA-256 is stored.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update

from ..db import Database
from ..db.base import utcnow
from ..db.lti_models import RegistrationInvite
from .errors import LtiRefused

DEFAULT_LIFETIME = timedelta(hours=24)
MAX_LIFETIME = timedelta(days=14)
INVITE_PARAM = "invite"


@dataclass(frozen=True)
class Invite:
    id: int
    token: str
    expires_at: datetime


@dataclass(frozen=True)
class InviteInfo:
    id: int
    note: str
    created_at: datetime
    expires_at: datetime
    used_at: datetime | None
    platform_id: int | None


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_invite(db: Database, lifetime: timedelta = DEFAULT_LIFETIME, note: str = "") -> Invite:
    if lifetime <= timedelta(0) or lifetime > MAX_LIFETIME:
        raise ValueError(f"an invite lives between a minute and {MAX_LIFETIME.days} days")
    token = secrets.token_urlsafe(32)
    now = utcnow()
    with db.transaction() as session:
        row = RegistrationInvite(
            token_sha256=_digest(token), note=note[:255], created_at=now, expires_at=now + lifetime
        )
        session.add(row)
        session.flush()
        return Invite(row.id, token, row.expires_at)


def claim_invite(db: Database, token: str | None) -> int:
    """Take the invite for one registration attempt (atomically: two attempts cannot both hold it)."""
    refused = LtiRefused(
        "registration",
        "lti_registration_invite",
        "Registering a platform needs a valid invitation from this tool's operator "
        "(lti-tool platforms invite). This one is missing, expired or already used.",
        403,
    )
    if not token or len(token) > 128:
        raise refused
    now = utcnow()
    with db.transaction() as session:
        claimed = session.execute(
            update(RegistrationInvite)
            .where(
                RegistrationInvite.token_sha256 == _digest(token),
                RegistrationInvite.used_at.is_(None),
                RegistrationInvite.expires_at > now,
            )
            .values(used_at=now)
            .returning(RegistrationInvite.id)
        ).scalar_one_or_none()
    if claimed is None:
        raise refused
    return int(claimed)


def release_invite(db: Database, invite_id: int) -> None:
    """The registration failed: the invite may be used again until it expires."""
    with db.transaction() as session:
        session.execute(
            update(RegistrationInvite)
            .where(RegistrationInvite.id == invite_id, RegistrationInvite.platform_id.is_(None))
            .values(used_at=None)
        )


def complete_invite(db: Database, invite_id: int, platform_id: int) -> None:
    with db.transaction() as session:
        session.execute(
            update(RegistrationInvite)
            .where(RegistrationInvite.id == invite_id)
            .values(platform_id=platform_id)
        )


def list_invites(db: Database) -> list[InviteInfo]:
    with db.read() as session:
        rows = session.scalars(select(RegistrationInvite).order_by(RegistrationInvite.id)).all()
        return [InviteInfo(r.id, r.note, r.created_at, r.expires_at, r.used_at, r.platform_id) for r in rows]


def revoke_invite(db: Database, invite_id: int) -> bool:
    """End an unused invite now."""
    now = utcnow()
    with db.transaction() as session:
        result = session.execute(
            update(RegistrationInvite)
            .where(RegistrationInvite.id == invite_id, RegistrationInvite.platform_id.is_(None))
            .values(expires_at=now)
            .returning(RegistrationInvite.id)
        )
        return result.first() is not None

"""Bearer tokens licensure offices pull their records with: created (shown once), listed, revoked, checked.

Only a token's SHA-256 is stored. A token is 32 random bytes, so a lookup by its hash is as good as a
constant-time comparison: an attacker who times the index lookup learns about hashes of guesses, which says
nothing about any real token. A refused token says why (missing, unknown, revoked): only its holder can ask,
and it tells them what to do. ``last_used_at`` is written at most once a minute per token, so a busy office
does not turn every read into a write.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update

from ..db import Database
from ..db.base import utcnow
from ..db.records_models import OfficeToken
from .errors import NotFound, ServiceError

LAST_USED_GRANULARITY = timedelta(minutes=1)


class UnknownOffice(ServiceError):
    def __init__(self, key: str, known: Collection[str]) -> None:
        names = ", ".join(sorted(known)) or "none: add office profiles to OFFICES_DIR"
        super().__init__("unknown_office", f"No licensure office {key!r}. Known offices: {names}.")
        self.key = key


class TokenRefused(ServiceError):
    """A pull request's token is missing, unknown or revoked (``code`` says which)."""

    status = 401


@dataclass(frozen=True)
class TokenInfo:
    id: int
    office_key: str
    label: str
    created_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None


@dataclass(frozen=True)
class CreatedToken:
    info: TokenInfo
    token: str  # the only time the secret exists outside the office's hands


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _info(row: OfficeToken) -> TokenInfo:
    return TokenInfo(row.id, row.office_key, row.label, row.created_at, row.revoked_at, row.last_used_at)


def create_token(
    db: Database, office_key: str, known_offices: Collection[str], label: str = ""
) -> CreatedToken:
    """A new token for ``office_key`` (one of ``known_offices``); the secret is returned, never stored."""
    if office_key not in known_offices:
        raise UnknownOffice(office_key, known_offices)
    token = secrets.token_urlsafe(32)
    with db.transaction() as session:
        row = OfficeToken(
            office_key=office_key, token_hash=token_hash(token), label=label, created_at=utcnow()
        )
        session.add(row)
        session.flush()
        info = _info(row)
    return CreatedToken(info, token)


def list_tokens(db: Database, office_key: str | None = None) -> list[TokenInfo]:
    """Every token (revoked ones too, for the record), oldest first; only ``office_key``'s when given."""
    query = select(OfficeToken).order_by(OfficeToken.id)
    if office_key is not None:
        query = query.where(OfficeToken.office_key == office_key)
    with db.read() as session:
        return [_info(row) for row in session.scalars(query)]


def revoke_token(db: Database, token_id: int) -> TokenInfo:
    """Revoke a token; revoking one already revoked keeps its first revocation time."""
    with db.transaction() as session:
        row = session.get(OfficeToken, token_id)
        if row is None:
            raise NotFound("unknown_token", f"No office token with id {token_id}.")
        if row.revoked_at is None:
            row.revoked_at = utcnow()
        return _info(row)


def authenticate(db: Database, token: str | None, now: datetime | None = None) -> str:
    """The office key a live ``token`` belongs to; TokenRefused for a missing, unknown or revoked one."""
    if not token:
        raise TokenRefused("missing_token", "Send the office's token: Authorization: Bearer <token>.")
    digest = token_hash(token)
    with db.read_connection() as conn:
        row = conn.execute(
            select(
                OfficeToken.id, OfficeToken.office_key, OfficeToken.revoked_at, OfficeToken.last_used_at
            ).where(OfficeToken.token_hash == digest)
        ).first()
    if row is None:
        raise TokenRefused("invalid_token", "This token is not known. Ask the provider for a new one.")
    if row.revoked_at is not None:
        raise TokenRefused("revoked_token", "This token was revoked. Ask the provider for a new one.")
    now = now or utcnow()
    if row.last_used_at is None or now - row.last_used_at >= LAST_USED_GRANULARITY:
        stale = now - LAST_USED_GRANULARITY
        with db.transaction() as session:
            # Conditional, so requests in the same minute write it once.
            session.execute(
                update(OfficeToken)
                .where(OfficeToken.id == row.id)
                .where(OfficeToken.last_used_at.is_(None) | (OfficeToken.last_used_at <= stale))
                .values(last_used_at=now)
            )
    office_key: str = row.office_key
    return office_key

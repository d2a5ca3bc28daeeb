"""The tool's RSA signing keys: kept in the database, published with kids, rotated without breaking
launches or deep-linking responses in flight (the previous key stays published for a grace period)."""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm
from sqlalchemy import or_, select

from ..db import Database
from ..db.base import utcnow
from ..db.lti_models import ToolKey

DEFAULT_GRACE_HOURS = 72.0


@dataclass(frozen=True)
class KeyInfo:
    kid: str
    created_at: datetime
    retired_at: datetime | None
    published_until: datetime | None

    @property
    def status(self) -> str:
        if self.retired_at is None:
            return "active"
        if self.published_until is not None and self.published_until > utcnow():
            return "grace"
        return "retired"


def public_jwk(private_pem: str, kid: str) -> dict[str, Any]:
    private_key = serialization.load_pem_private_key(private_pem.encode(), password=None)
    assert isinstance(private_key, rsa.RSAPrivateKey)
    jwk: dict[str, Any] = json.loads(RSAAlgorithm.to_jwk(private_key.public_key()))
    jwk.update({"kid": kid, "alg": "RS256", "use": "sig"})
    return jwk


def generate_rsa_pem(bits: int = 2048) -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def thumbprint_kid(jwk: dict[str, Any]) -> str:
    """RFC 7638 JWK thumbprint (base64url SHA-256 of the required members), a stable kid."""
    canonical = json.dumps({k: jwk[k] for k in ("e", "kty", "n")}, separators=(",", ":"), sort_keys=True)
    return base64.urlsafe_b64encode(hashlib.sha256(canonical.encode()).digest()).rstrip(b"=").decode()


def _new_key() -> ToolKey:
    pem = generate_rsa_pem()
    jwk = public_jwk(pem, "")
    kid = thumbprint_kid(jwk)
    jwk["kid"] = kid
    return ToolKey(kid=kid, private_key_pem=pem, public_jwk=jwk, created_at=utcnow())


def _active(session: Any) -> ToolKey | None:
    return session.scalars(
        select(ToolKey).where(ToolKey.retired_at.is_(None)).order_by(ToolKey.created_at.desc()).limit(1)
    ).first()


def active_signing_key(db: Database) -> tuple[str, str]:
    """(kid, private key PEM) of the key the tool signs with now; the first call creates one."""
    with db.read() as session:
        key = _active(session)
        if key is not None:
            return key.kid, key.private_key_pem
    with db.transaction() as session:
        key = _active(session)  # another process may have created it meanwhile
        if key is None:
            key = _new_key()
            session.add(key)
        return key.kid, key.private_key_pem


def ensure_key(db: Database) -> str:
    return active_signing_key(db)[0]


def rotate(db: Database, grace_hours: float = DEFAULT_GRACE_HOURS) -> str:
    """Start signing with a new key; the keys it replaces stay published for ``grace_hours``."""
    now = utcnow()
    with db.transaction() as session:
        for old in session.scalars(select(ToolKey).where(ToolKey.retired_at.is_(None))):
            old.retired_at = now
            old.published_until = now + timedelta(hours=grace_hours)
        key = _new_key()
        key.created_at = now
        session.add(key)
        return key.kid


def public_jwks(db: Database) -> dict[str, Any]:
    """The JWKS document: the active key and the keys still in their grace period."""
    ensure_key(db)
    now = utcnow()
    with db.read() as session:
        rows = session.scalars(
            select(ToolKey)
            .where(or_(ToolKey.retired_at.is_(None), ToolKey.published_until > now))
            .order_by(ToolKey.created_at.desc())
        ).all()
        return {"keys": [dict(row.public_jwk) for row in rows]}


def list_keys(db: Database) -> list[KeyInfo]:
    with db.read() as session:
        rows = session.scalars(select(ToolKey).order_by(ToolKey.created_at.desc())).all()
        return [KeyInfo(r.kid, r.created_at, r.retired_at, r.published_until) for r in rows]

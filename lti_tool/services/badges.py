"""Open Badges 3.0 for awards: the signing keys (Ed25519, in the database, rotated like the LTI keys), each
award's signed ``OpenBadgeCredential`` (made on first request and kept), the issuer, and the Bitstring Status
List that says which badges are revoked.

The issuer is the signing key's ``did:key`` (self-describing: any verifier resolves it offline). A badge's
index in the status list is its award's row id, so no index is ever allocated twice."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ..db import Database
from ..db.base import utcnow
from ..db.models import User
from ..db.records_models import Award, BadgeKey
from ..records.ob3 import credentials, did_key, signing, status_list
from . import audit
from .errors import NotFound
from .records import CREDENTIAL
from .records_settings import current

LIST_SIZE = status_list.MIN_BITS
Json = dict[str, object]


@dataclass(frozen=True)
class KeyView:
    id: int
    did: str
    created_at: datetime
    retired_at: datetime | None


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _private(row: BadgeKey) -> Ed25519PrivateKey:
    key = serialization.load_pem_private_key(row.private_key_pem.encode(), password=None)
    assert isinstance(key, Ed25519PrivateKey)
    return key


def _new_key(session: Session) -> BadgeKey:
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    row = BadgeKey(public_multibase=did_key.public_key_multibase(key.public_key()), private_key_pem=pem)
    session.add(row)
    session.flush()
    return row


def _signing_key(session: Session) -> BadgeKey:
    row = session.scalar(
        select(BadgeKey).where(BadgeKey.retired_at.is_(None)).order_by(BadgeKey.id.desc()).limit(1)
    )
    return row if row is not None else _new_key(session)


def rotate_key(db: Database) -> KeyView:
    """A new signing key for new badges. The retired key is kept: its badges still verify (did:key needs no
    lookup), and it still signs its own status lists, so revoking one of its badges works."""
    with db.transaction() as session:
        session.execute(update(BadgeKey).where(BadgeKey.retired_at.is_(None)).values(retired_at=utcnow()))
        row = _new_key(session)
        audit.record(
            session,
            action="badge_key.rotated",
            subject_type="badge_key",
            subject_id=row.id,
            actor="operator",
            data={"did": did_key.did_key(_private(row).public_key())},
        )
        return _key_view(row)


def _key_view(row: BadgeKey) -> KeyView:
    return KeyView(row.id, "did:key:" + row.public_multibase, row.created_at, row.retired_at)


def keys(db: Database) -> list[KeyView]:
    with db.read() as session:
        return [_key_view(r) for r in session.scalars(select(BadgeKey).order_by(BadgeKey.id))]


def _issuer(row: BadgeKey) -> credentials.Issuer:
    settings = current()
    return credentials.Issuer(
        id=did_key.did_key(_private(row).public_key()), name=settings.provider_name, url=settings.base_url
    )


def badge_url(public_id: str) -> str:
    return f"{current().base_url}/records/{public_id}/badge.json"


def status_list_url(key_id: int, number: int) -> str:
    """Each signing key has its own status lists: a verifier wants the list's issuer to be the badge's."""
    return f"{current().base_url}/badges/status/{key_id}/{number}"


def _recipient(session: Session, award: Award) -> tuple[credentials.Recipient, str]:
    salt = str(award.details.get("recipient_salt") or credentials.new_salt())
    user = session.get(User, award.user_id)
    if user is not None and user.email:
        return credentials.Recipient.hashed(user.email, salt), salt
    # No e-mail from the platform: a stable opaque id that says nothing about the learner.
    opaque = uuid.uuid5(uuid.NAMESPACE_URL, f"{current().base_url}/learners/{award.user_id}/{salt}")
    return credentials.Recipient.by_id(f"urn:uuid:{opaque}"), salt


def _achievement(award: Award) -> credentials.Achievement:
    settings = current()
    details = award.details
    embedded = tuple(
        credentials.EmbeddedCredential(
            achievement_id=f"{settings.base_url}/badges/achievements/{award.course_key}/{c['key']}",
            name=str(c["title"]),
        )
        for c in details.get("credentials", [])
    )
    if award.kind == CREDENTIAL:
        narrative = str(
            details.get("criteria") or "Evidence scored as earned against the credential's rubric."
        )
    else:
        narrative = "Every embedded micro-credential earned: " + ", ".join(e.name for e in embedded) + "."
    return credentials.Achievement(
        id=f"{settings.base_url}/badges/achievements/{award.course_key}/{award.target_key}",
        name=award.title,
        description=str(details.get("description") or award.title),
        criteria_narrative=narrative,
        criteria_url=settings.record_url(award.public_id),
        ceus=award.ceus if award.kind != CREDENTIAL else None,
        contact_hours=award.contact_hours if award.kind != CREDENTIAL else None,
        embedded=embedded,
    )


def badge(db: Database, public_id: str) -> dict[str, object]:
    """The award's signed OpenBadgeCredential (public: it names the learner only by a salted hash)."""
    with db.transaction() as session:
        award = session.scalar(select(Award).where(Award.public_id == public_id.strip().upper()))
        if award is None:
            raise NotFound("unknown_record", "No badge has this id.")
        if award.badge is not None:
            return dict(award.badge)
        key = _signing_key(session)
        recipient, salt = _recipient(session, award)
        unsigned = credentials.open_badge_credential(
            credential_id=badge_url(award.public_id),
            issuer=_issuer(key),
            recipient=recipient,
            achievement=_achievement(award),
            valid_from=_stamp(award.issued_at),
            status=credentials.StatusEntry(
                list_credential=status_list_url(key.id, award.id // LIST_SIZE), index=award.id % LIST_SIZE
            ),
        )
        private = _private(key)
        signed = signing.sign(
            unsigned,
            private,
            verification_method=did_key.verification_method(private.public_key()),
            created=_stamp(utcnow()),
        )
        award.badge, award.badge_key_id = signed, key.id
        award.details = {**award.details, "recipient_salt": salt}
        return dict(signed)


def status_list_credential(db: Database, key_id: int, number: int) -> dict[str, object]:
    """List ``number`` of key ``key_id`` (awards ``number * LIST_SIZE`` onwards whose badge that key
    signed), signed now by that key (retired or not), with every revoked award's bit set."""
    if number < 0 or number > 2**31 // LIST_SIZE:
        raise NotFound("unknown_status_list", "No such status list.")
    with db.read() as session:
        key = session.get(BadgeKey, key_id)
        if key is None:
            raise NotFound("unknown_status_list", "No such status list.")
        low = number * LIST_SIZE
        revoked = session.scalars(
            select(Award.id).where(
                Award.badge_key_id == key_id,
                Award.id >= low,
                Award.id < low + LIST_SIZE,
                Award.revoked_at.is_not(None),
            )
        )
        private = _private(key)
        unsigned = status_list.status_list_credential(
            credential_id=status_list_url(key_id, number),
            issuer=did_key.did_key(private.public_key()),
            valid_from=_stamp(utcnow()),
            revoked=[i - low for i in revoked],
        )
    return dict(
        signing.sign(
            unsigned,
            private,
            verification_method=did_key.verification_method(private.public_key()),
            created=_stamp(utcnow()),
        )
    )

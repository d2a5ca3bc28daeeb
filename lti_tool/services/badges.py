"""Open Badges 3.0 for awards: the signing keys (Ed25519, in the database, rotated like the LTI keys), each
award's signed ``OpenBadgeCredential`` (made on first request and kept), the issuer, and the Bitstring Status
List that says which badges are revoked.

The issuer of a new badge is the signing key's ``did:key`` (self-describing: any verifier resolves it
offline), or with ``BADGE_ISSUER=https`` the profile served at ``/badges/issuer``, a controller document that
lists every key (retired ones too). A badge keeps the issuer it was signed with; both kinds of lists and the
profile are served whatever the setting, so switching it affects new badges only. A badge's index in the
status list is its award's row id, so no index is ever allocated twice."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ..db import Database
from ..db.base import utcnow
from ..db.models import User
from ..db.records_models import Award, BadgeKey
from ..records.ob3 import credentials, did_key, https_issuer, signing, status_list
from . import audit
from .errors import NotFound
from .records import CREDENTIAL
from .records_settings import HTTPS_ISSUER, current

LIST_SIZE = status_list.MIN_BITS
Json = dict[str, object]


@dataclass(frozen=True)
class KeyView:
    id: int
    did: str
    created_at: datetime
    retired_at: datetime | None
    # What new badges name as their verification method: the did:key's, or the https issuer's.
    method: str = ""


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
    did = "did:key:" + row.public_multibase
    method = _verification_method(row, _https())
    return KeyView(row.id, did, row.created_at, row.retired_at, method)


def keys(db: Database) -> list[KeyView]:
    with db.read() as session:
        return [_key_view(r) for r in session.scalars(select(BadgeKey).order_by(BadgeKey.id))]


def _https() -> bool:
    return current().badge_issuer == HTTPS_ISSUER


def issuer_id() -> str:
    """The https issuer's id: the URL its profile (and controller document) is served at."""
    return f"{current().base_url}/badges/issuer"


def _issuer(row: BadgeKey | None) -> credentials.Issuer:
    """The https issuer, or (``row`` given) the did:key issuer of that key."""
    settings = current()
    identifier = issuer_id() if row is None else "did:key:" + row.public_multibase
    return credentials.Issuer(id=identifier, name=settings.provider_name, url=settings.base_url)


def _verification_method(row: BadgeKey, https: bool) -> str:
    if https:
        return https_issuer.verification_method(issuer_id(), row.public_multibase)
    return did_key.verification_method(_private(row).public_key())


def badge_url(public_id: str) -> str:
    return f"{current().base_url}/records/{public_id}/badge.json"


def status_list_url(key_id: int, number: int) -> str:
    """Each did:key has its own status lists: a verifier wants the list's issuer to be the badge's."""
    return f"{current().base_url}/badges/status/{key_id}/{number}"


def issuer_status_list_url(number: int) -> str:
    """The https issuer has one set of lists, whichever key signed the badge."""
    return f"{current().base_url}/badges/status/issuer/{number}"


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
        key, https = _signing_key(session), _https()
        recipient, salt = _recipient(session, award)
        number = award.id // LIST_SIZE
        unsigned = credentials.open_badge_credential(
            credential_id=badge_url(award.public_id),
            issuer=_issuer(None if https else key),
            recipient=recipient,
            achievement=_achievement(award),
            valid_from=_stamp(award.issued_at),
            status=credentials.StatusEntry(
                list_credential=issuer_status_list_url(number) if https else status_list_url(key.id, number),
                index=award.id % LIST_SIZE,
            ),
        )
        signed = signing.sign(
            unsigned,
            _private(key),
            verification_method=_verification_method(key, https),
            created=_stamp(utcnow()),
        )
        award.badge, award.badge_key_id = signed, key.id
        award.details = {**award.details, "recipient_salt": salt}
        return dict(signed)


def _check_number(number: int) -> None:
    if number < 0 or number > 2**31 // LIST_SIZE:
        raise NotFound("unknown_status_list", "No such status list.")


def status_list_credential(db: Database, key_id: int, number: int) -> dict[str, object]:
    """List ``number`` of key ``key_id`` (awards ``number * LIST_SIZE`` onwards whose badge that key
    signed), signed now by that key (retired or not), with every revoked award's bit set."""
    _check_number(number)
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


def issuer_status_list_credential(db: Database, number: int) -> dict[str, object]:
    """List ``number`` of the https issuer (awards ``number * LIST_SIZE`` onwards), signed now by the
    current key, with every revoked award's bit set. Only https badges point at it, whichever key signed
    them; a did:key badge's bit set here too says nothing to anyone."""
    _check_number(number)
    with db.read() as session:
        key = _current_key(session)
        low = number * LIST_SIZE
        revoked = session.scalars(
            select(Award.id).where(Award.id >= low, Award.id < low + LIST_SIZE, Award.revoked_at.is_not(None))
        )
        unsigned = status_list.status_list_credential(
            credential_id=issuer_status_list_url(number),
            issuer=issuer_id(),
            valid_from=_stamp(utcnow()),
            revoked=[i - low for i in revoked],
        )
    return dict(
        signing.sign(
            unsigned,
            _private(key),
            verification_method=_verification_method(key, https=True),
            created=_stamp(utcnow()),
        )
    )


def _current_key(session: Session) -> BadgeKey:
    row = session.scalar(
        select(BadgeKey).where(BadgeKey.retired_at.is_(None)).order_by(BadgeKey.id.desc()).limit(1)
    )
    if row is None:
        # No key yet means no badge yet, so no badge points at this list.
        raise NotFound("unknown_status_list", "No such status list.")
    return row


def issuer_profile(db: Database) -> dict[str, object]:
    """The https issuer's OB ``Profile``, also the controller document of every key badges were ever
    signed with (retired ones too, so their badges and lists keep verifying)."""
    with db.read() as session:
        multibases = list(session.scalars(select(BadgeKey.public_multibase).order_by(BadgeKey.id)))
    return https_issuer.profile_document(_issuer(None), multibases)


def resolve_key(db: Database) -> Callable[[str], Ed25519PublicKey]:
    """A ``resolve_public_key`` for ``signing.verify`` over our badges and lists: a did:key from the
    identifier, an https issuer's method from the keys in the database (those its profile lists)."""
    issuer = issuer_id()

    def listed(multibase: str) -> bool:
        with db.read() as session:
            return (
                session.scalar(select(BadgeKey.id).where(BadgeKey.public_multibase == multibase)) is not None
            )

    from_database = https_issuer.resolver(issuer, listed)

    def resolve(method: str) -> Ed25519PublicKey:
        if method.startswith(did_key.DID_KEY_PREFIX):
            return did_key.resolve_did_key(method)
        return from_database(method)

    return resolve

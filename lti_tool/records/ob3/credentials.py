"""Open Badges 3.0 ``OpenBadgeCredential`` documents (unsigned) from plain values.

One credential per earned micro-credential and one per completed stack. Only terms of the pinned OB 3.0.3
and VC 2.0 contexts are used: a verifier canonicalizes in JSON-LD safe mode and refuses anything else.

* The learner is named without private data: a DID/URN chosen by the caller, or an OB ``IdentityObject``
  holding ``sha256$`` of the e-mail (or LTI user id) with a salt, which a person who knows the address
  can check and nobody else can read.
* A stack lists its embedded credentials as ``alignment`` entries (OB 3.0 ``Alignment``, target type
  ``ext:EmbeddedCredential``): ``related`` is not for this, the spec reserves it for other editions of
  the same achievement.
* CEUs go in ``creditsAvailable`` (achievement) and ``creditsEarned`` (subject); OB has no field for
  contact hours, so the achievement's description says them in words.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from .loader import CREDENTIALS_V2, OB_V3P0

CONTEXT = [CREDENTIALS_V2, OB_V3P0]
EMBEDDED_CREDENTIAL = "ext:EmbeddedCredential"


@dataclass(frozen=True)
class Issuer:
    """The issuer's OB ``Profile``: ``id`` is its did:key or the https URL of the profile we serve."""

    id: str
    name: str
    url: str | None = None


@dataclass(frozen=True)
class Recipient:
    """Who earned it. Build with ``by_id`` or ``hashed``."""

    id: str | None = None
    identity_hash: str | None = None
    identity_type: str | None = None
    salt: str | None = None

    @classmethod
    def by_id(cls, subject_id: str) -> Recipient:
        """A DID or URN the caller keeps for this learner (nothing readable about them)."""
        return cls(id=subject_id)

    @classmethod
    def hashed(cls, identity: str, salt: str, identity_type: str = "emailAddress") -> Recipient:
        """OB ``IdentityObject``: ``sha256$hex(sha256(identity + salt))``; e-mail addresses in lower case,
        so that the address as anyone types it checks."""
        if not salt:
            raise ValueError("a hashed identity needs a salt (see new_salt())")
        text = identity.strip().lower() if identity_type == "emailAddress" else identity
        digest = hashlib.sha256((text + salt).encode("utf-8")).hexdigest()
        return cls(identity_hash=f"sha256${digest}", identity_type=identity_type, salt=salt)


def new_salt() -> str:
    """A fresh salt for ``Recipient.hashed`` (keep it with the award: re-issuing must reuse it)."""
    return secrets.token_hex(16)


@dataclass(frozen=True)
class EmbeddedCredential:
    """A micro-credential inside a stack: its achievement URL and name."""

    achievement_id: str
    name: str
    code: str | None = None


@dataclass(frozen=True)
class Achievement:
    """What was earned: a micro-credential, or a stack (``embedded`` non-empty)."""

    id: str
    name: str
    description: str
    criteria_narrative: str
    criteria_url: str | None = None
    image_url: str | None = None
    ceus: Decimal | float | None = None
    contact_hours: Decimal | float | None = None
    embedded: tuple[EmbeddedCredential, ...] = ()
    human_code: str | None = None
    achievement_type: str = "MicroCredential"


@dataclass(frozen=True)
class StatusEntry:
    """Where the credential's revocation bit lives (a Bitstring Status List credential we serve)."""

    list_credential: str
    index: int
    purpose: str = "revocation"


def _number(value: Decimal | float) -> int | float:
    # JSON has one kind of number: write 1 rather than 1.0, as every other JSON reader will see it.
    number = float(value)
    return int(number) if number.is_integer() else number


def _quantity(value: Decimal | float, unit: str) -> str:
    """``10 contact hours``, ``1.0 CEU``: the caller's digits (a Decimal keeps its scale), plural unless 1."""
    text = str(value) if isinstance(value, Decimal) else f"{value:g}"
    return f"{text} {unit}{'' if float(value) == 1 else 's'}"


def achievement_document(achievement: Achievement, issuer: Issuer) -> dict[str, Any]:
    """The OB ``Achievement`` object (also what the tool can serve at ``achievement.id``)."""
    description = achievement.description
    if achievement.contact_hours is not None:
        ceus = f" ({_quantity(achievement.ceus, 'CEU')})" if achievement.ceus is not None else ""
        description = f"{description} {_quantity(achievement.contact_hours, 'contact hour')}{ceus}.".strip()
    criteria: dict[str, Any] = {"narrative": achievement.criteria_narrative}
    if achievement.criteria_url:
        criteria = {"id": achievement.criteria_url, **criteria}
    document: dict[str, Any] = {
        "id": achievement.id,
        "type": ["Achievement"],
        "achievementType": achievement.achievement_type,
        "name": achievement.name,
        "description": description,
        "criteria": criteria,
        "creator": {"id": issuer.id, "type": ["Profile"], "name": issuer.name},
    }
    if achievement.image_url:
        document["image"] = {"id": achievement.image_url, "type": "Image", "caption": achievement.name}
    if achievement.ceus is not None:
        document["creditsAvailable"] = _number(achievement.ceus)
    if achievement.human_code:
        document["humanCode"] = achievement.human_code
    if achievement.embedded:
        document["alignment"] = [_alignment(item, achievement) for item in achievement.embedded]
    return document


def _alignment(item: EmbeddedCredential, stack: Achievement) -> dict[str, Any]:
    alignment: dict[str, Any] = {
        "type": ["Alignment"],
        "targetName": item.name,
        "targetUrl": item.achievement_id,
        "targetType": EMBEDDED_CREDENTIAL,
        "targetFramework": stack.name,
        "targetDescription": f"Embedded credential of the stack {stack.name}",
    }
    if item.code:
        alignment["targetCode"] = item.code
    return alignment


def issuer_profile(issuer: Issuer) -> dict[str, Any]:
    profile: dict[str, Any] = {"id": issuer.id, "type": ["Profile"], "name": issuer.name}
    if issuer.url:
        profile["url"] = issuer.url
    return profile


def _subject(recipient: Recipient, achievement: Achievement, issuer: Issuer) -> dict[str, Any]:
    subject: dict[str, Any] = {"type": ["AchievementSubject"]}
    if recipient.id:
        subject["id"] = recipient.id
    if recipient.identity_hash:
        subject["identifier"] = [
            {
                "type": "IdentityObject",
                "identityHash": recipient.identity_hash,
                "identityType": recipient.identity_type,
                "hashed": True,
                "salt": recipient.salt,
            }
        ]
    if "id" not in subject and "identifier" not in subject:
        raise ValueError("the recipient needs an id or a hashed identity (OB 3.0 AchievementSubject)")
    subject["achievement"] = achievement_document(achievement, issuer)
    if achievement.ceus is not None:
        subject["creditsEarned"] = _number(achievement.ceus)
    return subject


def status_entry(entry: StatusEntry) -> dict[str, Any]:
    """A ``BitstringStatusListEntry`` (the index is a string, as the specification requires)."""
    if entry.index < 0:
        raise ValueError("a status list index is 0 or more")
    return {
        "id": f"{entry.list_credential}#{entry.index}",
        "type": "BitstringStatusListEntry",
        "statusPurpose": entry.purpose,
        "statusListIndex": str(entry.index),
        "statusListCredential": entry.list_credential,
    }


def open_badge_credential(
    *,
    credential_id: str,
    issuer: Issuer,
    recipient: Recipient,
    achievement: Achievement,
    valid_from: str,
    status: StatusEntry | None = None,
    awarded_date: str | None = None,
    valid_until: str | None = None,
) -> dict[str, Any]:
    """The unsigned ``OpenBadgeCredential``; sign it with ``signing.sign``.

    ``valid_from`` (and the optional dates) are XML dateTimeStamps, e.g. ``2025-01-31T12:00:00Z``;
    ``awarded_date`` keeps the original award date when a credential is re-issued later.
    """
    credential: dict[str, Any] = {
        "@context": list(CONTEXT),
        "id": credential_id,
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "issuer": issuer_profile(issuer),
        "validFrom": valid_from,
        "name": achievement.name,
        "credentialSubject": _subject(recipient, achievement, issuer),
    }
    if valid_until:
        credential["validUntil"] = valid_until
    if awarded_date:
        credential["awardedDate"] = awarded_date
    if status is not None:
        credential["credentialStatus"] = status_entry(status)
    return credential

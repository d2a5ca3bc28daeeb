"""OpenBadgeCredential documents: what they say, what they do not say, and that they sign and verify."""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from decimal import Decimal

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from lti_tool.records.ob3 import did_key, signing
from lti_tool.records.ob3.canonical import canonicalize
from lti_tool.records.ob3.credentials import (
    EMBEDDED_CREDENTIAL,
    Achievement,
    EmbeddedCredential,
    Issuer,
    Recipient,
    StatusEntry,
    new_salt,
    open_badge_credential,
)

KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
ISSUER = Issuer(did_key.did_key(KEY.public_key()), "Friday Institute", "https://fi.example.edu")
MICRO = Achievement(
    id="https://tool.example/achievements/ef-1",
    name="Executive Function 1",
    description="Plans lessons that teach planning.",
    criteria_narrative="Submit a lesson plan that the assessor rates proficient.",
)
STACK = Achievement(
    id="https://tool.example/achievements/ef-stack",
    name="Executive Function",
    description="Five micro-credentials on executive function.",
    criteria_narrative="Earn all five embedded credentials.",
    ceus=Decimal("1.5"),
    contact_hours=Decimal("15"),
    embedded=tuple(
        EmbeddedCredential(f"https://tool.example/achievements/ef-{i}", f"Executive Function {i}", f"ef-{i}")
        for i in range(1, 6)
    ),
)


def _credential(achievement: Achievement, recipient: Recipient) -> dict:  # type: ignore[type-arg]
    return open_badge_credential(
        credential_id="urn:uuid:7f1c1f7e-6d2c-4c1a-9a59-000000000001",
        issuer=ISSUER,
        recipient=recipient,
        achievement=achievement,
        valid_from="2025-03-01T12:00:00Z",
        status=StatusEntry("https://tool.example/ob3/status/1", 42),
    )


def test_micro_credential() -> None:
    credential = _credential(MICRO, Recipient.by_id("urn:uuid:learner-1"))
    assert credential["@context"] == [
        "https://www.w3.org/ns/credentials/v2",
        "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
    ]
    assert credential["type"] == ["VerifiableCredential", "OpenBadgeCredential"]
    assert credential["issuer"] == {
        "id": ISSUER.id,
        "type": ["Profile"],
        "name": ISSUER.name,
        "url": ISSUER.url,
    }
    subject = credential["credentialSubject"]
    assert subject["id"] == "urn:uuid:learner-1"
    assert subject["achievement"]["achievementType"] == "MicroCredential"
    assert subject["achievement"]["criteria"] == {"narrative": MICRO.criteria_narrative}
    assert "alignment" not in subject["achievement"] and "creditsEarned" not in subject
    assert credential["credentialStatus"] == {
        "id": "https://tool.example/ob3/status/1#42",
        "type": "BitstringStatusListEntry",
        "statusPurpose": "revocation",
        "statusListIndex": "42",
        "statusListCredential": "https://tool.example/ob3/status/1",
    }
    canonicalize(credential)  # only terms of the pinned contexts


def test_stack_lists_embedded_credentials_and_states_hours_and_ceus() -> None:
    credential = _credential(STACK, Recipient.by_id("urn:uuid:learner-1"))
    achievement = credential["credentialSubject"]["achievement"]
    assert [a["targetUrl"] for a in achievement["alignment"]] == [e.achievement_id for e in STACK.embedded]
    assert {a["targetType"] for a in achievement["alignment"]} == {EMBEDDED_CREDENTIAL}
    assert achievement["alignment"][0]["targetName"] == "Executive Function 1"
    assert achievement["alignment"][0]["targetCode"] == "ef-1"
    assert achievement["creditsAvailable"] == 1.5
    assert credential["credentialSubject"]["creditsEarned"] == 1.5
    assert achievement["description"].endswith("15 contact hours (1.5 CEUs).")
    nquads = canonicalize(credential)
    assert nquads.count("<https://schema.org/targetUrl>") == 5


def test_whole_ceus_are_json_integers() -> None:
    one = replace(STACK, ceus=Decimal("1.0"), contact_hours=Decimal("10"))
    achievement = _credential(one, Recipient.by_id("urn:uuid:x"))["credentialSubject"]["achievement"]
    assert json.dumps(achievement["creditsAvailable"]) == "1"
    assert achievement["description"].endswith("10 contact hours (1.0 CEU).")


def test_hashed_recipient_keeps_the_address_out_and_checks() -> None:
    salt = new_salt()
    credential = _credential(MICRO, Recipient.hashed("  Ada.Lovelace@Example.org ", salt))
    text = json.dumps(credential).lower()
    assert "lovelace" not in text and "example.org" not in text
    (identity,) = credential["credentialSubject"]["identifier"]
    expected = hashlib.sha256(("ada.lovelace@example.org" + salt).encode()).hexdigest()
    assert identity == {
        "type": "IdentityObject",
        "identityHash": f"sha256${expected}",
        "identityType": "emailAddress",
        "hashed": True,
        "salt": salt,
    }
    assert "id" not in credential["credentialSubject"]
    canonicalize(credential)


def test_recipient_must_be_named_somehow() -> None:
    with pytest.raises(ValueError, match="recipient"):
        _credential(MICRO, Recipient())
    with pytest.raises(ValueError, match="salt"):
        Recipient.hashed("a@b.org", "")


def test_signed_with_did_key_and_verified() -> None:
    credential = _credential(STACK, Recipient.hashed("a@b.org", "salt"))
    signed = signing.sign(
        credential,
        KEY,
        verification_method=did_key.verification_method(KEY.public_key()),
        created="2025-03-01T12:00:00Z",
    )
    assert signed["proof"]["cryptosuite"] == "eddsa-rdfc-2022"
    assert signing.verify(signed, did_key.resolve_did_key)
    other = Ed25519PrivateKey.generate()
    forged = signing.sign(
        credential,
        other,
        verification_method=did_key.verification_method(other.public_key()),
        created="2025-03-01T12:00:00Z",
    )
    assert not signing.verify(forged, did_key.resolve_did_key)  # a key that is not the issuer's
    with pytest.raises(ValueError, match="already has a proof"):
        signing.sign(signed, KEY, verification_method="x", created="2025-03-01T12:00:00Z")
    with pytest.raises(ValueError, match="dateTimeStamp"):
        signing.sign(credential, KEY, verification_method="x", created="2025-03-01 12:00")

"""The https issuer's profile (an OB Profile that is also its keys' controller document) and resolving its
verification methods, without a database."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from lti_tool.records.ob3 import did_key, https_issuer, signing
from lti_tool.records.ob3.canonical import canonicalize
from lti_tool.records.ob3.credentials import Issuer
from lti_tool.records.ob3.status_list import status_list_credential

ISSUER = Issuer("https://tool.example/badges/issuer", "Friday Institute", "https://tool.example")
OLD = Ed25519PrivateKey.from_private_bytes(bytes(range(1, 33)))
NEW = Ed25519PrivateKey.from_private_bytes(bytes(range(2, 34)))
OLD_MB, NEW_MB = (did_key.public_key_multibase(k.public_key()) for k in (OLD, NEW))


def test_the_profile_lists_every_key_as_a_multikey_for_assertions() -> None:
    profile = https_issuer.profile_document(ISSUER, [OLD_MB, NEW_MB])
    assert profile["id"] == ISSUER.id and profile["type"] == ["Profile"]
    assert (profile["name"], profile["url"]) == ("Friday Institute", "https://tool.example")
    assert profile["verificationMethod"] == [
        {
            "id": f"https://tool.example/badges/issuer#key-{mb}",
            "type": "Multikey",
            "controller": ISSUER.id,
            "publicKeyMultibase": mb,
        }
        for mb in (OLD_MB, NEW_MB)
    ]
    assert profile["assertionMethod"] == [m["id"] for m in profile["verificationMethod"]]


def test_the_profile_is_json_ld_of_the_pinned_contexts_only() -> None:
    """A verifier expands it in safe mode: every term must be defined by a pinned context."""
    nquads = canonicalize(https_issuer.profile_document(ISSUER, [NEW_MB]))
    method = f"<https://tool.example/badges/issuer#key-{NEW_MB}>"
    assert f"<{ISSUER.id}> <https://w3id.org/security#assertionMethod> {method} ." in nquads
    assert (
        f"{method} <http://www.w3.org/1999/02/22-rdf-syntax-ns#type> <https://w3id.org/security#Multikey>"
        in (nquads)
    )
    assert "<https://purl.imsglobal.org/spec/vc/ob/vocab.html#Profile>" in nquads


def _signed_list(key: Ed25519PrivateKey, method: str) -> dict[str, object]:
    unsigned = status_list_credential(
        credential_id="https://tool.example/badges/status/issuer/0",
        issuer=ISSUER.id,
        valid_from="2025-01-01T00:00:00Z",
        revoked=[3],
    )
    return signing.sign(unsigned, key, verification_method=method, created="2025-01-01T00:00:00Z")


def test_a_listed_key_verifies_and_an_unlisted_or_foreign_one_does_not() -> None:
    listed = {OLD_MB}
    resolve = https_issuer.resolver(ISSUER.id, listed.__contains__)
    good = _signed_list(OLD, https_issuer.verification_method(ISSUER.id, OLD_MB))
    assert signing.verify(good, resolve)
    assert not signing.verify({**good, "validFrom": "2025-01-02T00:00:00Z"}, resolve)
    # Signed by a key the profile does not list: refused although the signature itself holds.
    unlisted = _signed_list(NEW, https_issuer.verification_method(ISSUER.id, NEW_MB))
    assert not signing.verify(unlisted, resolve)
    assert signing.verify(unlisted, https_issuer.resolver(ISSUER.id, lambda _: True))
    with pytest.raises(LookupError):
        resolve(f"https://elsewhere.example/badges/issuer#key-{OLD_MB}")
    with pytest.raises(LookupError):
        resolve(ISSUER.id + "#key-")
    with pytest.raises(LookupError):
        resolve(f"{ISSUER.id}#{OLD_MB}")


def test_a_method_naming_a_listed_key_but_not_a_key_is_refused() -> None:
    resolve = https_issuer.resolver(ISSUER.id, lambda _: True)
    with pytest.raises(ValueError):
        resolve(ISSUER.id + "#key-z6Mknotbase58_0OIl")

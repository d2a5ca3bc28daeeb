"""An issuer identified by an https URL: the OB 3.0 ``Profile`` the tool serves there, which is also the
controller document of the issuer's signing keys (the alternative to a did:key issuer).

A verifier reads a proof's ``verificationMethod`` (``<issuer>#key-<publicKeyMultibase>``), dereferences the
profile, takes the ``Multikey`` with that id, and checks that the profile lists it under ``assertionMethod``
and that the profile's id is the credential's issuer. Every key the tool ever signed with stays listed, so
badges signed by a retired key keep verifying.

The profile's ``@context`` starts with the DID v1 context, although the id is no DID: it is the vocabulary
that defines ``verificationMethod`` and ``assertionMethod`` (W3C security terms), and jsonld-signatures reads
a controller document that starts with it as it is, instead of re-framing it with the Security v2 context
(one more context to pin, and a safe-mode framing of the OB terms). The Multikey v1 context defines the key
itself; the VC 2.0 and OB 3.0.3 contexts the ``Profile``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from .credentials import Issuer, issuer_profile
from .did_key import public_key_from_multibase
from .loader import CREDENTIALS_V2, DID_V1, MULTIKEY_V1, OB_V3P0

PROFILE_CONTEXT = [DID_V1, MULTIKEY_V1, CREDENTIALS_V2, OB_V3P0]
KEY_FRAGMENT = "#key-"


class UnknownVerificationMethodError(LookupError):
    """A verification method that is not one of this issuer's keys."""


def verification_method(issuer_id: str, public_key_multibase: str) -> str:
    """``<issuer>#key-z6Mk...``: a fragment of the profile, so the method names its controller."""
    return f"{issuer_id}{KEY_FRAGMENT}{public_key_multibase}"


def profile_document(issuer: Issuer, public_key_multibases: Iterable[str]) -> dict[str, Any]:
    """The issuer's OB ``Profile`` with every key as a ``Multikey`` it controls and uses for assertions
    (oldest first; the caller lists retired keys too)."""
    methods = [
        {
            "id": verification_method(issuer.id, multibase),
            "type": "Multikey",
            "controller": issuer.id,
            "publicKeyMultibase": multibase,
        }
        for multibase in public_key_multibases
    ]
    return {
        "@context": list(PROFILE_CONTEXT),
        **issuer_profile(issuer),
        "verificationMethod": methods,
        "assertionMethod": [method["id"] for method in methods],
    }


def key_multibase(issuer_id: str, method: str) -> str:
    """The ``publicKeyMultibase`` a verification method of this issuer names, or
    UnknownVerificationMethodError."""
    prefix = issuer_id + KEY_FRAGMENT
    if not method.startswith(prefix) or len(method) == len(prefix):
        raise UnknownVerificationMethodError(f"{method!r} is not a key of the issuer {issuer_id!r}")
    return method[len(prefix) :]


def resolver(issuer_id: str, is_listed: Callable[[str], bool]) -> Callable[[str], Ed25519PublicKey]:
    """A ``resolve_public_key`` for ``signing.verify``: methods of this issuer whose key ``is_listed`` (in
    the profile) resolve to that key; anything else raises a LookupError."""

    def resolve(method: str) -> Ed25519PublicKey:
        multibase = key_multibase(issuer_id, method)
        if not is_listed(multibase):
            raise UnknownVerificationMethodError(f"{method!r} is not listed in the issuer's profile")
        return public_key_from_multibase(multibase)

    return resolve

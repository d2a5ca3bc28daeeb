"""Data Integrity proofs with the ``eddsa-rdfc-2022`` cryptosuite (W3C Data Integrity EdDSA v1.0, 3.3).

Sign: hash data = SHA-256(canonical proof options, with the document's ``@context``) followed by
SHA-256(canonical document without ``proof``); the Ed25519 signature over those 64 bytes, base58btc, is
the ``proofValue``. Verify recomputes the same bytes and checks the signature with the key the caller
resolves for the ``verificationMethod``.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Mapping
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from .canonical import canonicalize
from .multibase import base58btc_decode, base58btc_encode

PROOF_TYPE = "DataIntegrityProof"
CRYPTOSUITE = "eddsa-rdfc-2022"
PROOF_PURPOSE = "assertionMethod"

# XML Schema dateTimeStamp: the time zone is required (Data Integrity says so for `created`).
_DATE_TIME_STAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$")


def proof_options(*, verification_method: str, created: str) -> dict[str, str]:
    """The proof without its value, in the order jsonld-signatures writes it."""
    if not _DATE_TIME_STAMP.match(created):
        raise ValueError(f"created {created!r} must be an XML dateTimeStamp, e.g. 2025-01-31T12:00:00Z")
    return {
        "type": PROOF_TYPE,
        "created": created,
        "verificationMethod": verification_method,
        "cryptosuite": CRYPTOSUITE,
        "proofPurpose": PROOF_PURPOSE,
    }


def hash_data(unsecured: Mapping[str, Any], options: Mapping[str, Any]) -> bytes:
    """SHA-256 of the canonical proof options || SHA-256 of the canonical document (64 bytes)."""
    with_context = {**options, "@context": unsecured["@context"]}
    proof_hash = hashlib.sha256(canonicalize(with_context).encode("utf-8")).digest()
    document_hash = hashlib.sha256(canonicalize(unsecured).encode("utf-8")).digest()
    return proof_hash + document_hash


def sign(
    document: Mapping[str, Any],
    private_key: Ed25519PrivateKey,
    *,
    verification_method: str,
    created: str,
) -> dict[str, Any]:
    """A copy of ``document`` with a ``DataIntegrityProof`` (eddsa-rdfc-2022, assertionMethod)."""
    if "proof" in document:
        raise ValueError("the document already has a proof; sign the unsecured document")
    if "@context" not in document:
        raise ValueError("the document has no @context")
    options = proof_options(verification_method=verification_method, created=created)
    signature = private_key.sign(hash_data(document, options))
    return {**document, "proof": {**options, "proofValue": base58btc_encode(signature)}}


def verify(signed: Mapping[str, Any], resolve_public_key: Callable[[str], Ed25519PublicKey]) -> bool:
    """True when the one proof is ours (eddsa-rdfc-2022, assertionMethod, made by the issuer's key) and
    the signature holds over the document as it is now; False on any mismatch or unreadable input.

    ``resolve_public_key`` gets the proof's ``verificationMethod`` and returns its key or raises (e.g.
    ``did_key.resolve_did_key``). The method must belong to the issuer: its part before ``#`` is the
    issuer's id, as a verifier's issuance check requires.
    """
    proof = signed.get("proof")
    if not isinstance(proof, Mapping):
        return False
    if (proof.get("type"), proof.get("cryptosuite"), proof.get("proofPurpose")) != (
        PROOF_TYPE,
        CRYPTOSUITE,
        PROOF_PURPOSE,
    ):
        return False
    method, value = proof.get("verificationMethod"), proof.get("proofValue")
    if not isinstance(method, str) or not isinstance(value, str):
        return False
    issuer = signed.get("issuer")
    issuer_id = issuer.get("id") if isinstance(issuer, Mapping) else issuer
    if not isinstance(issuer_id, str) or method.partition("#")[0] != issuer_id:
        return False
    options = {key: item for key, item in proof.items() if key != "proofValue"}
    unsecured = {key: item for key, item in signed.items() if key != "proof"}
    if "@context" in options:
        # A proof may carry its own @context: the document's must start with it, and it is then the
        # context that was signed (Data Integrity EdDSA 3.3.2).
        own, document_context = _as_list(options.pop("@context")), _as_list(signed.get("@context"))
        if document_context[: len(own)] != own:
            return False
        unsecured["@context"] = own
    try:
        signature = base58btc_decode(value)
        public_key = resolve_public_key(method)
        public_key.verify(signature, hash_data(unsecured, options))
    except (InvalidSignature, ValueError, LookupError, TypeError):
        return False
    return True


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]

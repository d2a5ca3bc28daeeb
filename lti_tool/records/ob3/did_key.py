"""Ed25519 public keys as ``did:key`` identifiers (did:key method v0.7, Multikey).

``did:key:z6Mk...`` is base58btc of the multicodec prefix 0xed 0x01 followed by the 32-byte key; the
verification method of that DID is ``did:key:z6Mk...#z6Mk...``. Resolving one needs no network: the
key is in the identifier.
"""

from __future__ import annotations

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from .multibase import MultibaseError, base58btc_decode, base58btc_encode

ED25519_PUB_MULTICODEC = b"\xed\x01"
DID_KEY_PREFIX = "did:key:"


class DidKeyError(ValueError):
    """Not an Ed25519 did:key (or its verification method)."""


def public_key_multibase(public_key: Ed25519PublicKey) -> str:
    """``z6Mk...``: the Multikey ``publicKeyMultibase`` of an Ed25519 key."""
    raw = public_key.public_bytes(Encoding.Raw, PublicFormat.Raw)
    return base58btc_encode(ED25519_PUB_MULTICODEC + raw)


def public_key_from_multibase(text: str) -> Ed25519PublicKey:
    try:
        data = base58btc_decode(text)
    except MultibaseError as error:
        raise DidKeyError(str(error)) from error
    if len(data) != 34 or not data.startswith(ED25519_PUB_MULTICODEC):
        raise DidKeyError(f"{text!r} is not a multibase Ed25519 public key (z6Mk...)")
    return Ed25519PublicKey.from_public_bytes(data[2:])


def did_key(public_key: Ed25519PublicKey) -> str:
    """``did:key:z6Mk...`` for the key."""
    return DID_KEY_PREFIX + public_key_multibase(public_key)


def verification_method(public_key: Ed25519PublicKey) -> str:
    """``did:key:z6Mk...#z6Mk...``: what a proof names as its ``verificationMethod``."""
    multibase = public_key_multibase(public_key)
    return f"{DID_KEY_PREFIX}{multibase}#{multibase}"


def resolve_did_key(did_or_method: str) -> Ed25519PublicKey:
    """The public key of a did:key, or of its verification method (whose fragment must repeat it)."""
    did, _, fragment = did_or_method.partition("#")
    if not did.startswith(DID_KEY_PREFIX):
        raise DidKeyError(f"{did_or_method!r} is not a did:key")
    multibase = did[len(DID_KEY_PREFIX) :]
    if fragment and fragment != multibase:
        raise DidKeyError(f"{did_or_method!r}: a did:key has one verification method, #{multibase}")
    return public_key_from_multibase(multibase)

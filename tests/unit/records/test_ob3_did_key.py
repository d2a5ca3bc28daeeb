"""did:key for Ed25519 keys and the base58btc / base64url multibase text under it."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from lti_tool.records.ob3 import did_key
from lti_tool.records.ob3.multibase import (
    MultibaseError,
    base58btc_decode,
    base58btc_encode,
    base64url_decode,
    base64url_encode,
)

# did:key specification, Ed25519 test vector (seed and identifier).
SPEC_DID = "did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp"


def test_round_trip() -> None:
    public = Ed25519PrivateKey.generate().public_key()
    did = did_key.did_key(public)
    assert did.startswith("did:key:z6Mk")
    method = did_key.verification_method(public)
    assert method == f"{did}#{did.removeprefix('did:key:')}"
    for name in (did, method):
        assert did_key.resolve_did_key(name).public_bytes_raw() == public.public_bytes_raw()


def test_a_published_identifier_decodes_to_32_bytes_and_back() -> None:
    key = did_key.resolve_did_key(SPEC_DID)
    assert did_key.did_key(key) == SPEC_DID


@pytest.mark.parametrize(
    "name",
    [
        "did:web:example.com",
        SPEC_DID + "#z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK",  # someone else's key as fragment
        "did:key:zQ3shokFTS3brHcDQrn82RUDfCZESWL1ZdCEJwekUDPQiYBme",  # secp256k1, not Ed25519
        "did:key:z6Mk0OIl",  # not base58
        "did:key:6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp",  # no multibase prefix
    ],
)
def test_refused(name: str) -> None:
    with pytest.raises(did_key.DidKeyError):
        did_key.resolve_did_key(name)


@pytest.mark.parametrize("data", [b"", b"\0", b"\0\0\x01", b"hello world", bytes(range(256)), b"\xff" * 64])
def test_base58btc_round_trip_keeps_leading_zeros(data: bytes) -> None:
    text = base58btc_encode(data)
    assert text.startswith("z")
    assert base58btc_decode(text) == data


def test_base58btc_known_value() -> None:
    # The multibase specification's example: "Decentralize everything!!"
    assert base58btc_encode(b"Decentralize everything!!") == "zUXE7GvtEk8XTXs1GF8HSGbVA9FCX9SEBPe"


def test_base64url_round_trip_and_refusals() -> None:
    assert base64url_encode(b"\xfb\xff") == "u-_8"
    assert base64url_decode("u-_8") == b"\xfb\xff"
    for text in ("z-_8", "u+/8", "u-_8="):
        with pytest.raises(MultibaseError):
            base64url_decode(text)

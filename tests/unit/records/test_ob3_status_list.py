"""Bitstring Status List: encoding, bit order, edges and refusals."""

from __future__ import annotations

import gzip

import pytest

from lti_tool.records.ob3.multibase import base64url_decode, base64url_encode
from lti_tool.records.ob3.status_list import (
    MIN_BITS,
    StatusListError,
    decode_list,
    encode_list,
    is_set,
    revoked_in,
    set_indexes,
    status_list_credential,
)


def test_empty_list_is_16kb_of_zeros() -> None:
    bits = decode_list(encode_list([]))
    assert len(bits) == MIN_BITS // 8 == 16_384
    assert not any(bits)
    assert set_indexes(bits) == set()


def test_index_zero_is_the_leftmost_bit() -> None:
    bits = decode_list(encode_list([0]))
    assert bits[0] == 0b1000_0000
    assert is_set(bits, 0) and not is_set(bits, 1)


def test_last_index() -> None:
    bits = decode_list(encode_list([MIN_BITS - 1]))
    assert bits[-1] == 0b0000_0001
    assert set_indexes(bits) == {MIN_BITS - 1}


def test_round_trip_and_determinism() -> None:
    revoked = {0, 7, 8, 9, 1000, 65_535, MIN_BITS - 1}
    encoded = encode_list(revoked)
    assert encoded.startswith("u")
    assert encode_list(sorted(revoked, reverse=True)) == encoded  # GZIP mtime 0: same list, same bytes
    assert set_indexes(decode_list(encoded)) == revoked


def test_a_bigger_list() -> None:
    size = MIN_BITS * 2
    assert set_indexes(decode_list(encode_list([size - 1], size))) == {size - 1}


@pytest.mark.parametrize("index", [-1, MIN_BITS])
def test_index_outside_the_list(index: int) -> None:
    with pytest.raises(StatusListError):
        encode_list([index])
    with pytest.raises(StatusListError):
        is_set(decode_list(encode_list([])), index)


@pytest.mark.parametrize("size", [MIN_BITS - 8, MIN_BITS + 1])
def test_sizes_refused(size: int) -> None:
    with pytest.raises(StatusListError):
        encode_list([], size)


def test_decode_refuses_short_lists_bad_data_and_bombs() -> None:
    with pytest.raises(StatusListError, match="fewer"):
        decode_list(base64url_encode(gzip.compress(bytes(100))))
    with pytest.raises(StatusListError, match="GZIP"):
        decode_list(base64url_encode(b"not gzip"))
    with pytest.raises(StatusListError, match="larger"):
        decode_list(base64url_encode(gzip.compress(bytes(4 << 20))))


def test_credential() -> None:
    credential = status_list_credential(
        credential_id="https://tool.example/status/1",
        issuer="did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp",
        valid_from="2025-01-01T00:00:00Z",
        revoked=[3, 5],
    )
    assert credential["type"] == ["VerifiableCredential", "BitstringStatusListCredential"]
    subject = credential["credentialSubject"]
    assert subject["type"] == "BitstringStatusList"
    assert subject["statusPurpose"] == "revocation"
    assert subject["id"] == "https://tool.example/status/1#list"
    assert len(gzip.decompress(base64url_decode(subject["encodedList"]))) == 16_384
    assert revoked_in(credential) == {3, 5}

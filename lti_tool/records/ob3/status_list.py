"""Bitstring Status List v1.0: the revocation list credential the tool serves, and reading it back.

The list is a bitstring of at least 131,072 bits (16 KB, so one credential's index says little about
who it belongs to); bit 0 is the most significant bit of the first byte. ``encodedList`` is multibase
base64url (``u``, no padding) of the GZIP of the bitstring. GZIP is written with mtime 0 so the same
revocations always give the same bytes (and the same signature input).
"""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Iterable
from typing import Any

from .loader import CREDENTIALS_V2
from .multibase import base64url_decode, base64url_encode

MIN_BITS = 131_072
# Refuse to inflate more than this when reading a list back (a list is 16 KB; this is a 64x margin).
MAX_DECODED_BYTES = 1 << 20


class StatusListError(ValueError):
    """An index outside the list, or an encodedList that is not one."""


def encode_list(revoked: Iterable[int], size: int = MIN_BITS) -> str:
    """``encodedList`` with the given indexes set."""
    if size < MIN_BITS or size % 8:
        raise StatusListError(f"a status list has at least {MIN_BITS} bits, a whole number of bytes")
    bits = bytearray(size // 8)
    for index in revoked:
        if not 0 <= index < size:
            raise StatusListError(f"index {index} is outside the list (0..{size - 1})")
        bits[index // 8] |= 0x80 >> (index % 8)
    return base64url_encode(gzip.compress(bytes(bits), mtime=0))


def decode_list(encoded: str) -> bytes:
    """The bitstring of an ``encodedList``."""
    try:
        inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
        bits = inflater.decompress(base64url_decode(encoded), MAX_DECODED_BYTES)
    except zlib.error as error:
        raise StatusListError(f"encodedList is not GZIP data: {error}") from error
    if inflater.unconsumed_tail or not inflater.eof:
        raise StatusListError("encodedList is truncated or larger than any status list we write")
    if len(bits) * 8 < MIN_BITS:
        raise StatusListError(f"encodedList holds {len(bits) * 8} bits, fewer than {MIN_BITS}")
    return bits


def is_set(bits: bytes, index: int) -> bool:
    if not 0 <= index < len(bits) * 8:
        raise StatusListError(f"index {index} is outside the list (0..{len(bits) * 8 - 1})")
    return bool(bits[index // 8] & (0x80 >> (index % 8)))


def set_indexes(bits: bytes) -> set[int]:
    """Every index whose bit is set."""
    return {
        byte_index * 8 + bit
        for byte_index, byte in enumerate(bits)
        if byte
        for bit in range(8)
        if byte & (0x80 >> bit)
    }


def status_list_credential(
    *,
    credential_id: str,
    issuer: str,
    valid_from: str,
    revoked: Iterable[int],
    purpose: str = "revocation",
    size: int = MIN_BITS,
    valid_until: str | None = None,
) -> dict[str, Any]:
    """The unsigned ``BitstringStatusListCredential`` (sign it with ``signing.sign``)."""
    credential: dict[str, Any] = {
        "@context": [CREDENTIALS_V2],
        "id": credential_id,
        "type": ["VerifiableCredential", "BitstringStatusListCredential"],
        "issuer": issuer,
        "validFrom": valid_from,
        "credentialSubject": {
            "id": f"{credential_id}#list",
            "type": "BitstringStatusList",
            "statusPurpose": purpose,
            "encodedList": encode_list(revoked, size),
        },
    }
    if valid_until:
        credential["validUntil"] = valid_until
    return credential


def revoked_in(credential: dict[str, Any]) -> set[int]:
    """The set indexes of a status list credential (after its proof has been checked)."""
    return set_indexes(decode_list(credential["credentialSubject"]["encodedList"]))

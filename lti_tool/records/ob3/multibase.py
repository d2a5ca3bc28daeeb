"""Multibase text for bytes: base58btc (prefix ``z``) and base64url without padding (prefix ``u``).

Base58 is small enough to write here rather than add a dependency; the alphabet is Bitcoin's.
"""

from __future__ import annotations

import base64

_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_INDEX = {char: i for i, char in enumerate(_ALPHABET)}


class MultibaseError(ValueError):
    """Text that is not the multibase encoding it claims to be."""


def base58btc_encode(data: bytes) -> str:
    """``z`` + base58 (Bitcoin alphabet); each leading zero byte becomes a ``1``."""
    zeros = len(data) - len(data.lstrip(b"\0"))
    number = int.from_bytes(data, "big")
    digits = []
    while number:
        number, remainder = divmod(number, 58)
        digits.append(_ALPHABET[remainder])
    return "z" + "1" * zeros + "".join(reversed(digits))


def base58btc_decode(text: str) -> bytes:
    if not text.startswith("z"):
        raise MultibaseError("base58btc multibase text must start with 'z'")
    body = text[1:]
    number = 0
    for char in body:
        if char not in _INDEX:
            raise MultibaseError(f"{char!r} is not a base58btc character")
        number = number * 58 + _INDEX[char]
    zeros = len(body) - len(body.lstrip("1"))
    payload = number.to_bytes((number.bit_length() + 7) // 8, "big") if number else b""
    return b"\0" * zeros + payload


def base64url_encode(data: bytes) -> str:
    """``u`` + base64url without padding."""
    return "u" + base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def base64url_decode(text: str) -> bytes:
    if not text.startswith("u"):
        raise MultibaseError("base64url multibase text must start with 'u'")
    body = text[1:]
    if any(c in body for c in "+/="):
        raise MultibaseError("base64url multibase text uses '-' and '_' and no padding")
    try:
        return base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    except ValueError as error:
        raise MultibaseError(f"not base64url: {error}") from error

"""The signature on records pushed to licensure offices, and how a receiver checks it.

Every POST carries ``X-MCS-Timestamp`` (unix seconds) and ``X-MCS-Signature: v1=<hex>``, the HMAC-SHA256
of ``f"{timestamp}.{body}"`` under the secret the office shares with the operator. Signing the timestamp
with the body lets a receiver refuse a captured request replayed later (outside its tolerance window).
docs/office-receivers.md is the receivers' description of the scheme; keep the two in step.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping

VERSION = "v1"
TIMESTAMP_HEADER = "X-MCS-Timestamp"
SIGNATURE_HEADER = "X-MCS-Signature"
IDEMPOTENCY_HEADER = "Idempotency-Key"
DEFAULT_TOLERANCE = 300


def _text(value: str | bytes) -> bytes:
    return value.encode("utf-8") if isinstance(value, str) else value


def signature(secret: str | bytes, body: str | bytes, timestamp: int) -> str:
    """The hex HMAC-SHA256 of ``b"{timestamp}." + body`` under ``secret``."""
    message = str(int(timestamp)).encode("ascii") + b"." + _text(body)
    return hmac.new(_text(secret), message, hashlib.sha256).hexdigest()


def sign(secret: str | bytes, body: str | bytes, ts: int, idempotency_key: str = "") -> dict[str, str]:
    """The headers of one signed POST of ``body`` (the exact bytes sent) at unix time ``ts``."""
    headers = {
        "Content-Type": "application/json",
        TIMESTAMP_HEADER: str(int(ts)),
        SIGNATURE_HEADER: f"{VERSION}={signature(secret, body, ts)}",
    }
    if idempotency_key:
        headers[IDEMPOTENCY_HEADER] = idempotency_key
    return headers


class BadSignature(ValueError):
    """A request whose signature a receiver must refuse; the message says which check failed."""


def _header(headers: Mapping[str, str], name: str) -> str | None:
    # HTTP header names are case-insensitive; a plain dict from a framework may use any case.
    wanted = name.lower()
    for key, value in headers.items():
        if key.lower() == wanted:
            return value
    return None


def verify(
    secret: str | bytes,
    body: str | bytes,
    headers: Mapping[str, str],
    now: float,
    tolerance: int = DEFAULT_TOLERANCE,
) -> int:
    """Check a received request; return its timestamp, or raise BadSignature.

    ``body`` must be the raw bytes received (re-serialised JSON would not match). The timestamp must be
    within ``tolerance`` seconds of ``now`` either way, and the signature is compared in constant time.
    """
    raw_ts = _header(headers, TIMESTAMP_HEADER)
    raw_sig = _header(headers, SIGNATURE_HEADER)
    if not raw_ts or not raw_sig:
        raise BadSignature(f"{TIMESTAMP_HEADER} and {SIGNATURE_HEADER} are both required")
    try:
        ts = int(raw_ts)
    except ValueError as exc:
        raise BadSignature(f"{TIMESTAMP_HEADER} is not a whole number of seconds") from exc
    if abs(now - ts) > tolerance:
        raise BadSignature(f"{TIMESTAMP_HEADER} is more than {tolerance} s away from now (replay?)")
    expected = signature(secret, body, ts)
    # A header may carry several comma-separated versions while a secret or scheme is rotated.
    for part in raw_sig.split(","):
        version, _, value = part.strip().partition("=")
        if version == VERSION and hmac.compare_digest(value.encode("ascii", "replace"), expected.encode()):
            return ts
    raise BadSignature(f"{SIGNATURE_HEADER} does not match the body")

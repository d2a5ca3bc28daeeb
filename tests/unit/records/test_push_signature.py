"""The push signature: what we send verifies, anything changed does not, and the receivers' documentation
(docs/office-receivers.md) verifies exactly what we sign."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import pytest

from lti_tool.records.push_signature import BadSignature, sign, signature, verify

SECRET = "shared-secret-ü"
BODY = '{"record_id":"MCS-7K2P9QX4RT","educator":{"legal_name":"Zoë Ångström"}}'.encode()
DOC = Path(__file__).resolve().parents[3] / "docs" / "office-receivers.md"


def test_headers_carry_timestamp_signature_key_and_type() -> None:
    headers = sign(SECRET, BODY, 1_796_230_800, "key-1")
    assert headers["Content-Type"] == "application/json"
    assert headers["X-MCS-Timestamp"] == "1796230800"
    assert headers["Idempotency-Key"] == "key-1"
    assert re.fullmatch(r"v1=[0-9a-f]{64}", headers["X-MCS-Signature"])
    # A known answer (HMAC-SHA256 of "1.{}" under "k"), so a change of scheme cannot pass unnoticed.
    assert signature("k", b"{}", 1) == "3dd49b2593d0f9a349e9e71c4bde3e2b862c2be4003fe9b4ba81332029310158"


def test_what_we_sign_verifies_with_any_header_case() -> None:
    now = time.time()
    headers = sign(SECRET, BODY, int(now), "key-1")
    assert verify(SECRET, BODY, headers, now) == int(now)
    assert verify(SECRET, BODY, {k.lower(): v for k, v in headers.items()}, now + 299) == int(now)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda h, b: (h, b + b" "), "does not match"),
        (lambda h, b: (h, b.replace(b"7K2P", b"7K2Q")), "does not match"),
        (lambda h, b: ({**h, "X-MCS-Timestamp": str(int(h["X-MCS-Timestamp"]) + 1)}, b), "does not match"),
        (
            lambda h, b: ({**h, "X-MCS-Signature": h["X-MCS-Signature"].replace("v1=", "v0=")}, b),
            "does not match",
        ),
        (lambda h, b: ({k: v for k, v in h.items() if k != "X-MCS-Signature"}, b), "both required"),
        (lambda h, b: ({**h, "X-MCS-Timestamp": "soon"}, b), "whole number"),
    ],
)
def test_anything_changed_is_refused(change: Any, message: str) -> None:
    now = int(time.time())
    headers, body = change(sign(SECRET, BODY, now), BODY)
    with pytest.raises(BadSignature, match=message):
        verify(SECRET, body, headers, now)


def test_a_wrong_secret_and_an_old_timestamp_are_refused() -> None:
    now = int(time.time())
    with pytest.raises(BadSignature, match="does not match"):
        verify("other", BODY, sign(SECRET, BODY, now), now)
    with pytest.raises(BadSignature, match="replay"):
        verify(SECRET, BODY, sign(SECRET, BODY, now - 301), now)
    with pytest.raises(BadSignature, match="replay"):
        verify(SECRET, BODY, sign(SECRET, BODY, now + 301), now)


def test_one_of_several_signatures_during_a_rotation_is_enough() -> None:
    now = int(time.time())
    ours = sign(SECRET, BODY, now)["X-MCS-Signature"]
    headers = {"X-MCS-Timestamp": str(now), "X-MCS-Signature": f"v1={'0' * 64}, {ours}"}
    assert verify(SECRET, BODY, headers, now) == now


def test_the_receivers_documentation_verifies_what_we_sign() -> None:
    (code,) = re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)
    namespace: dict[str, Any] = {}
    exec(code, namespace)  # the snippet offices are told to copy
    documented_verify = namespace["verify"]
    headers = sign(SECRET, BODY, int(time.time()), "key-1")
    assert documented_verify(SECRET.encode(), BODY, headers) is True
    assert documented_verify(SECRET.encode(), BODY + b"x", headers) is False
    assert documented_verify(b"other", BODY, headers) is False
    stale = sign(SECRET, BODY, int(time.time()) - 400)
    assert documented_verify(SECRET.encode(), BODY, stale) is False

"""The check a cookie-less launch carries after its state was read back from the platform's storage.

It is an HMAC of the state under the tool's secret: it shows the second POST came through the tool's
check page (lti/launch_check.html), which posts only after the platform's storage in this browser answered
with the same state. See docs/decisions/0001-lti-adapter.md for what this does and does not prove.
"""

from __future__ import annotations

import hashlib
import hmac

from flask import current_app

STORAGE_CHECK_FIELD = "lti_storage_check"


def storage_check(state: str) -> str:
    key = str(current_app.config["SECRET_KEY"]).encode()
    return hmac.new(key, b"lti-storage-check:" + state.encode(), hashlib.sha256).hexdigest()


def storage_check_valid(state: str, value: str) -> bool:
    return bool(state and value) and hmac.compare_digest(storage_check(state), value)

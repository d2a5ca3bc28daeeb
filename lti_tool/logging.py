"""Structured log lines (key=value) carrying a request id."""

from __future__ import annotations

import logging
import re
import secrets

from flask import Flask, g, has_request_context, request


class _RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = g.get("request_id", "-") if has_request_context() else "-"
        return True


def configure_logging(level: int = logging.INFO) -> None:
    root = logging.getLogger("lti_tool")
    if any(getattr(h, "_lti_tool", False) for h in root.handlers):
        return
    handler = logging.StreamHandler()
    handler._lti_tool = True  # type: ignore[attr-defined]
    handler.addFilter(_RequestIdFilter())
    handler.setFormatter(
        logging.Formatter(
            "%(asctime)s level=%(levelname)s logger=%(name)s request_id=%(request_id)s %(message)s"
        )
    )
    root.addHandler(handler)
    root.setLevel(level)


# A request id a proxy in front of the tool may pass on: short, and nothing that could pose as another
# key=value field in a log line (no spaces, no '=', no quotes).
_PASSED_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")


def request_id_from(header: str | None) -> str:
    """The proxy's X-Request-Id when it is a plain token; else a new random id."""
    if header and _PASSED_ID.fullmatch(header):
        return header
    return secrets.token_hex(8)


def install_request_id(app: Flask) -> None:
    @app.before_request
    def _assign_request_id() -> None:
        # The X-Request-Id header, read from the environ (request.headers builds a view of it first).
        g.request_id = request_id_from(request.environ.get("HTTP_X_REQUEST_ID"))

    @app.after_request
    def _echo_request_id(response):  # type: ignore[no-untyped-def]
        response.headers["X-Request-Id"] = g.get("request_id", "")
        return response

"""Errors users can act on: JSON with a stable code for API clients, a page for people."""

from __future__ import annotations

import logging

from flask import Flask, jsonify, render_template, request
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

log = logging.getLogger("lti_tool.web")


def wants_json() -> bool:
    best = request.accept_mimetypes.best_match(["application/json", "text/html"])
    return request.path.startswith("/api/") or request.is_json or best == "application/json"


def error_response(status: int, code: str, message: str):  # type: ignore[no-untyped-def]
    if wants_json():
        return jsonify({"error": {"code": code, "message": message}}), status
    return render_template("error.html", status=status, code=code, message=message), status


def register(app: Flask) -> None:
    @app.errorhandler(RequestEntityTooLarge)
    def _too_large(exc: RequestEntityTooLarge):  # type: ignore[no-untyped-def]
        limit_mb = (app.config.get("MAX_CONTENT_LENGTH") or 0) // (1024 * 1024)
        log.info("event=upload_refused reason=too_large limit_mb=%s path=%s", limit_mb, request.path)
        return error_response(
            413, "upload_too_large", f"That upload is larger than the {limit_mb} MB limit. Nothing was saved."
        )

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException):  # type: ignore[no-untyped-def]
        return error_response(
            exc.code or 500, (exc.name or "error").lower().replace(" ", "_"), exc.description or ""
        )

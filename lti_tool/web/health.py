"""GET /healthz: the database state and the course maps loaded."""

from __future__ import annotations

from flask import Blueprint, jsonify

from ..services.health import health_report
from .context import db

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():  # type: ignore[no-untyped-def]
    report = health_report(db())
    return jsonify(report), (200 if report["database"]["ok"] else 503)

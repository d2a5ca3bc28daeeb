"""Flask blueprints by audience. Views parse the request, call one service, render."""

from __future__ import annotations

from flask import Flask


def register_blueprints(app: Flask) -> None:
    from . import errors
    from .health import bp as health_bp

    errors.register(app)
    app.register_blueprint(health_bp)

"""Flask blueprints by audience. Views parse the request, call one service, render."""

from __future__ import annotations

from flask import Flask


def register_blueprints(app: Flask) -> None:
    from . import errors
    from .health import bp as health_bp

    errors.register(app)
    from markupsafe import Markup

    from . import auth

    app.jinja_env.globals.update(
        url=auth.url,
        token_field=lambda: Markup(auth.token_field()),
        current_actor=auth.current_actor_or_none,
    )
    app.register_blueprint(health_bp)

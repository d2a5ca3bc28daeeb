"""``/``: what the tool is and how an administrator installs it in an LMS; ``/favicon.ico``."""

from __future__ import annotations

from flask import Blueprint, Flask, Response, current_app, jsonify, render_template, send_from_directory

from .context import settings
from .errors import wants_json

bp = Blueprint("home", __name__)


def endpoints(base_url: str) -> dict[str, str]:
    """The URLs an LMS administrator needs, under the tool's public BASE_URL."""
    return {
        "dynamic_registration": base_url + "/lti/register?invite=…",
        "canvas_config": base_url + "/lti/config.json",
        "oidc_login": base_url + "/lti/login",
        "launch": base_url + "/lti/launch",
        "jwks": base_url + "/lti/jwks.json",
        "health": base_url + "/healthz",
    }


@bp.get("/")
def index() -> Response | str:
    urls = endpoints(settings().base_url)
    if wants_json():
        return jsonify({"name": "Micro-credential Stacks", "lti_version": "1.3.0", "endpoints": urls})
    return render_template("home.html", urls=urls, dev_platform=settings().dev_platform)


@bp.get("/favicon.ico")
def favicon() -> Response:
    return send_from_directory(
        current_app.static_folder or "", "favicon.ico", mimetype="image/vnd.microsoft.icon", max_age=86400
    )


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)

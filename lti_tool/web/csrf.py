"""CSRF protection that also works inside LMS iframes whose browser blocks third-party cookies.

With cookies, Flask-WTF's synchronizer token is checked as usual. Without them, the session cannot hold
that token; instead the form carries the signed, per-launch session token (``lt``), a secret a cross-site
attacker cannot know, which proves the form came from a page the tool rendered for this launch.

Views and blueprints exempted with ``csrf.exempt`` (the LTI endpoints a platform posts to, the office API)
are skipped first, before anything reads the request's body or session, as Flask-WTF's own check skips them.
"""

from __future__ import annotations

from flask import Flask, g, request, session

from ..extensions import csrf
from .auth import TOKEN_PARAM, _from_token


def install_csrf_check(app: Flask) -> None:
    config = app.config

    @app.before_request
    def _check_csrf() -> None:
        if not config.get("WTF_CSRF_ENABLED", True):
            return
        if request.method not in config["WTF_CSRF_METHODS"]:
            return
        # What csrf.protect(apply_exemptions=True) skips: no endpoint (routing failed: 404/405) or exempt.
        if request.endpoint is None or csrf._is_exempt():
            return
        token = request.form.get(TOKEN_PARAM)
        if token and "actor" not in session and _from_token(token) is not None:
            g.csrf_valid = True
            return
        csrf.protect()

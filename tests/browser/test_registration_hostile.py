"""A platform that registers a ``javascript:`` authorisation URL gets nowhere (real Chromium).

Before: with ``javascript:...`` as the OIDC authorisation endpoint, the tool's login page ran the attacker's
script on the tool's own origin. Now the registration is refused, a registration stored with such a URL
(before the policy, or edited by hand) is refused when a login uses it, and no dialog fires anywhere.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

import pytest
from werkzeug.wrappers import Request, Response

from lti_tool.db.models import Deployment, Platform
from lti_tool.lti.invites import create_invite
from lti_tool.lti.registrations import list_platforms
from tests.browser.conftest import LiveServer
from tests.lti_platform_helpers import HttpServer

EVIL = "javascript:alert(document.domain)//"


@pytest.mark.browser
def test_javascript_authorisation_url_is_refused_and_no_dialog_fires(
    live_server: LiveServer, browser: Any
) -> None:
    evil = HttpServer()
    registrations: list[Any] = []

    def config(request: Request) -> Response:
        body = {
            "issuer": evil.url,
            "authorization_endpoint": EVIL,
            "token_endpoint": evil.url + "/token",
            "jwks_uri": evil.url + "/jwks",
            "registration_endpoint": evil.url + "/register",
        }
        return Response(json.dumps(body), content_type="application/json")

    def register(request: Request) -> Response:
        registrations.append(request.get_data())
        return Response(json.dumps({"client_id": "evil-client"}), content_type="application/json")

    evil.route("GET", "/.well-known/openid-configuration", config)
    evil.route("POST", "/register", register)
    db = live_server.app.extensions["db"]
    # The legacy case: a registration stored with that URL before the policy existed.
    with db.transaction() as session:
        legacy = Platform(
            issuer="https://legacy.example",
            client_id="legacy",
            auth_login_url=EVIL,
            auth_token_url="https://legacy.example/token",
            jwks_url="https://legacy.example/jwks",
        )
        session.add(legacy)
        session.flush()
        session.add(Deployment(platform_id=legacy.id, deployment_id="1"))

    context = browser.new_context()
    dialogs: list[str] = []
    page = context.new_page()
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    try:
        query = urlencode(
            {
                "invite": create_invite(db).token,
                "openid_configuration": evil.url + "/.well-known/openid-configuration",
                "registration_token": "t",
            }
        )
        answer = page.goto(f"{live_server.url}/lti/register?{query}")
        assert answer is not None and answer.status == 400
        assert "not acceptable" in page.locator("main").inner_text()
        assert registrations == [] and [p.client_id for p in list_platforms(db)] == ["legacy"]

        for storage in ({}, {"lti_storage_target": "_parent"}):
            login = {
                "iss": "https://legacy.example",
                "client_id": "legacy",
                "login_hint": "someone",
                "target_link_uri": live_server.url + "/lti/launch",
                **storage,
            }
            answer = page.goto(f"{live_server.url}/lti/login?{urlencode(login)}")
            assert answer is not None and answer.status == 403
            assert "not usable" in page.locator("main").inner_text()
            assert page.url.startswith(live_server.url + "/lti/login")
            assert page.locator("a[href^='javascript:']").count() == 0
            page.wait_for_timeout(300)  # time for any script to have run
        assert dialogs == []
    finally:
        context.close()
        evil.close()

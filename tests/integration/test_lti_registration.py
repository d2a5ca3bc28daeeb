"""Dynamic Registration against a platform HTTP server answering like Moodle 4.5, the Canvas config,
the postMessage storage login, and the lti-tool platforms/keys commands."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from werkzeug.wrappers import Request, Response

from lti_tool.db.base import utcnow
from lti_tool.lti.registrations import find_platform
from tests.lti_platform_helpers import HttpServer, TestPlatform, login, lti_app

FIXTURES = Path("/work/shared/fixtures/moodle-4.5")
REG_TOKEN = "registration-token-abc"


class FakeMoodle:
    """openid-configuration + registration endpoint; refuses a registration without the bearer token."""

    def __init__(self) -> None:
        self.server = HttpServer()
        self.base = self.server.url
        self.received: list[dict[str, Any]] = []
        self.server.route("GET", "/mod/lti/openid-configuration.php", self._config)
        self.server.route("POST", "/mod/lti/openid-registration.php", self._register)
        self.issuer = self.base
        self.overrides: dict[str, Any] = {}

    def _config(self, request: Request) -> Response:
        body = {
            "issuer": self.issuer,
            "token_endpoint": self.base + "/mod/lti/token.php",
            "token_endpoint_auth_methods_supported": ["private_key_jwt"],
            "jwks_uri": self.base + "/mod/lti/certs.php",
            "authorization_endpoint": self.base + "/mod/lti/auth.php",
            "registration_endpoint": self.base + "/mod/lti/openid-registration.php",
            "scopes_supported": ["openid"],
            "https://purl.imsglobal.org/spec/lti-platform-configuration": {
                "product_family_code": "moodle",
                "version": "4.5.6 (Build: 20250811)",
            },
        }
        body.update(self.overrides)
        return Response(json.dumps(body), content_type="application/json; charset=utf-8")

    def _register(self, request: Request) -> Response:
        if request.headers.get("Authorization") != f"Bearer {REG_TOKEN}":
            return Response(
                json.dumps({"error": "invalid token"}), status=401, content_type="application/json"
            )
        sent = json.loads(request.get_data())
        self.received.append(sent)
        fixture = json.loads((FIXTURES / "dynreg-registration-response.json").read_text())[
            "registration_response"
        ]
        body = dict(fixture["body"])
        tool_conf = dict(body["https://purl.imsglobal.org/spec/lti-tool-configuration"])
        tool_conf["target_link_uri"] = sent["https://purl.imsglobal.org/spec/lti-tool-configuration"][
            "target_link_uri"
        ]
        body.update(
            redirect_uris=sent["redirect_uris"],
            jwks_uri=sent["jwks_uri"],
            initiate_login_uri=sent["initiate_login_uri"],
        )
        body["https://purl.imsglobal.org/spec/lti-tool-configuration"] = tool_conf
        return Response(json.dumps(body), content_type="application/json; charset=utf-8")


@pytest.fixture
def moodle() -> Iterator[FakeMoodle]:
    fake = FakeMoodle()
    yield fake
    fake.server.close()


@pytest.fixture
def app(database_url: str, tmp_path: Path) -> Iterator[Any]:
    application = lti_app(database_url, tmp_path)
    yield application
    application.extensions["db"].dispose()


def invite(app: Any) -> str:
    """What an operator does: `lti-tool platforms invite`; the registration URL is the last line."""
    result = app.test_cli_runner().invoke(args=["platforms", "invite", "--note", "test"])
    assert result.exit_code == 0, result.output
    url = result.output.strip().splitlines()[-1]
    assert url.startswith("http://tool.test/lti/register?invite=")
    return parse_qs(urlsplit(url).query)["invite"][0]


def register(app: Any, moodle: FakeMoodle, token: str | None, **extra: str) -> Any:
    query = {
        "openid_configuration": moodle.base + "/mod/lti/openid-configuration.php",
        "registration_token": REG_TOKEN,
        **extra,
    }
    if token is not None:
        query["invite"] = token
    return app.test_client().get("/lti/register", query_string=query, headers={"Accept": "application/json"})


def test_dynamic_registration_stores_platform_and_deployment(app: Any, moodle: FakeMoodle) -> None:
    response = app.test_client().get(
        "/lti/register",
        query_string={
            "invite": invite(app),
            "openid_configuration": moodle.base + "/mod/lti/openid-configuration.php",
            "registration_token": REG_TOKEN,
        },
    )
    body = response.get_data(as_text=True)
    assert response.status_code == 200, body
    assert "registered.js" in body and "<script>" not in body  # the close message, without inline script
    sent = moodle.received[0]
    assert sent["initiate_login_uri"] == "http://tool.test/lti/login"
    assert sent["redirect_uris"] == ["http://tool.test/lti/launch"]
    assert sent["jwks_uri"] == "http://tool.test/lti/jwks.json"
    assert "https://purl.imsglobal.org/spec/lti-ags/scope/score" in sent["scope"].split()
    assert (
        "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly" in sent["scope"].split()
    )
    tool_conf = sent["https://purl.imsglobal.org/spec/lti-tool-configuration"]
    assert tool_conf["target_link_uri"] == "http://tool.test/lti/launch"
    assert {m["type"] for m in tool_conf["messages"]} == {"LtiResourceLinkRequest", "LtiDeepLinkingRequest"}
    assert "course_map" in tool_conf["custom_parameters"] and "email" in tool_conf["claims"]
    platform = find_platform(app.extensions["db"], moodle.issuer, "IB62Si4OkvIzgB9")
    assert platform is not None
    assert platform.deployment_ids == ("2",)
    assert platform.jwks_url == moodle.base + "/mod/lti/certs.php"
    assert platform.auth_login_url == moodle.base + "/mod/lti/auth.php"
    assert platform.product_family == "moodle" and platform.active
    listed = app.test_cli_runner().invoke(args=["platforms", "list"]).output
    assert moodle.issuer in listed and "IB62Si4OkvIzgB9" in listed and "active" in listed
    assert "used platform=" in app.test_cli_runner().invoke(args=["platforms", "invites"]).output


def test_registration_without_the_platforms_token_is_refused_and_keeps_the_invite(
    app: Any, moodle: FakeMoodle
) -> None:
    token = invite(app)
    response = register(app, moodle, token, registration_token="x")
    assert response.status_code == 502 and response.json["error"]["code"] == "lti_registration_refused"
    assert "401" not in response.json["error"]["message"]  # no fetch detail shown
    assert find_platform(app.extensions["db"], moodle.issuer, "IB62Si4OkvIzgB9") is None
    # The platform's failure did not use up the operator's invite.
    assert register(app, moodle, token).status_code == 200


def test_registration_refuses_an_issuer_from_another_origin(app: Any, moodle: FakeMoodle) -> None:
    moodle.issuer = "http://moodle.example"
    response = register(app, moodle, invite(app))
    assert response.status_code == 400 and response.json["error"]["code"] == "lti_registration_issuer"
    assert moodle.received == []


@pytest.mark.parametrize("token", [None, "", "not-an-invite", "x" * 500])
def test_registration_without_a_valid_invite_is_refused_before_fetching(
    app: Any, moodle: FakeMoodle, token: str | None
) -> None:
    response = register(app, moodle, token)
    assert response.status_code == 403 and response.json["error"]["code"] == "lti_registration_invite"
    assert moodle.server.hits == {} and moodle.received == []
    assert "platform" not in app.test_cli_runner().invoke(args=["platforms", "list"]).output


def test_an_invite_registers_one_platform_once(app: Any, moodle: FakeMoodle) -> None:
    token = invite(app)
    assert register(app, moodle, token).status_code == 200
    hits = dict(moodle.server.hits)
    again = register(app, moodle, token)
    assert again.status_code == 403 and again.json["error"]["code"] == "lti_registration_invite"
    assert moodle.server.hits == hits  # nothing fetched for the second use


def test_an_expired_or_revoked_invite_is_refused(app: Any, moodle: FakeMoodle) -> None:
    from datetime import timedelta

    from sqlalchemy import update

    from lti_tool.db.lti_models import RegistrationInvite

    expired = invite(app)
    with app.extensions["db"].transaction() as session:
        session.execute(update(RegistrationInvite).values(expires_at=utcnow() - timedelta(seconds=1)))
    assert register(app, moodle, expired).status_code == 403
    revoked = invite(app)
    invite_id = app.test_cli_runner().invoke(args=["platforms", "invites"]).output.strip().splitlines()[-1]
    assert (
        app.test_cli_runner().invoke(args=["platforms", "revoke-invite", invite_id.split()[0]]).exit_code == 0
    )
    assert register(app, moodle, revoked).status_code == 403
    assert moodle.received == []


@pytest.mark.parametrize(
    "field", ["authorization_endpoint", "token_endpoint", "jwks_uri", "registration_endpoint", "issuer"]
)
def test_a_javascript_url_in_the_platforms_configuration_is_refused(
    app: Any, moodle: FakeMoodle, field: str
) -> None:
    moodle.overrides[field] = "javascript:alert(document.domain)//"
    response = register(app, moodle, invite(app))
    assert response.status_code == 400, response.json
    assert response.json["error"]["code"] == "lti_registration_config"
    assert moodle.received == []
    assert find_platform(app.extensions["db"], moodle.issuer, "IB62Si4OkvIzgB9") is None


def test_the_registration_endpoint_must_be_on_the_issuers_host(app: Any, moodle: FakeMoodle) -> None:
    moodle.overrides["registration_endpoint"] = "http://localhost:9/steal"
    response = register(app, moodle, invite(app))
    assert response.status_code == 400 and response.json["error"]["code"] == "lti_registration_endpoint"
    assert moodle.received == []


def test_an_oversized_configuration_is_refused_with_a_generic_error(app: Any, moodle: FakeMoodle) -> None:
    moodle.overrides["padding"] = "x" * (300 * 1024)
    response = register(app, moodle, invite(app))
    assert response.status_code == 502 and response.json["error"]["code"] == "lti_registration_config"
    assert response.json["error"]["message"] == "The platform's configuration could not be read."


def test_fetch_errors_are_not_shown_to_the_requester(app: Any) -> None:
    """No port scanning through the error text: a closed port and a 404 read the same."""
    closed = HttpServer()
    url = closed.url
    closed.close()
    answers = []
    for config_url in (url + "/nothing-here", HttpServer().url + "/missing.json"):
        response = app.test_client().get(
            "/lti/register",
            query_string={"invite": invite(app), "openid_configuration": config_url},
            headers={"Accept": "application/json"},
        )
        answers.append((response.status_code, response.json["error"]["message"]))
    assert answers[0] == answers[1] == (502, "The platform's configuration could not be read.")


def test_outside_development_platform_urls_must_be_https_and_public(
    database_url: str, tmp_path: Path, moodle: FakeMoodle, monkeypatch: pytest.MonkeyPatch
) -> None:
    production = lti_app(database_url, tmp_path, DEVELOPMENT="0", DEV_PLATFORM="0")
    try:
        # plain http, and a loopback address: refused before anything is fetched
        assert register(production, moodle, invite(production)).status_code == 400
        loopback = moodle.base.replace("http://", "https://")
        response = production.test_client().get(
            "/lti/register",
            query_string={
                "invite": invite(production),
                "openid_configuration": loopback + "/mod/lti/openid-configuration.php",
            },
            headers={"Accept": "application/json"},
        )
        assert response.status_code == 400 and "private network" in response.json["error"]["message"]
        # a public-looking name that resolves to a private address (DNS) is refused too
        import socket

        def resolve(host: str, *args: Any, **kwargs: Any) -> Any:
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.0.0.7", 443))]

        monkeypatch.setattr(socket, "getaddrinfo", resolve)
        response = production.test_client().get(
            "/lti/register",
            query_string={
                "invite": invite(production),
                "openid_configuration": "https://lms.example.edu/.well-known/openid-configuration",
            },
            headers={"Accept": "application/json"},
        )
        assert response.status_code == 400 and "private network" in response.json["error"]["message"]
        assert moodle.server.hits == {}
        # the operator's command holds platforms to the same rule
        result = production.test_cli_runner().invoke(
            args=[
                "platforms", "add", "--issuer", "http://lms.example.edu", "--client-id", "c",
                "--auth-login-url", "javascript:alert(1)", "--auth-token-url", "https://lms.example.edu/t",
                "--jwks-url", "https://lms.example.edu/k",
            ]
        )  # fmt: skip
        assert result.exit_code != 0 and "https://" in result.output
        assert "lms.example.edu" not in production.test_cli_runner().invoke(args=["platforms", "list"]).output
    finally:
        production.extensions["db"].dispose()


def test_a_stored_registration_with_a_bad_url_is_refused_when_used(app: Any) -> None:
    """A registration written before the URL policy (or edited by hand) never sends a browser there."""
    from lti_tool.db.models import Deployment, Platform

    with app.extensions["db"].transaction() as session:
        platform = Platform(
            issuer="https://old.example",
            client_id="c1",
            auth_login_url="javascript:alert(document.cookie)",
            auth_token_url="https://old.example/token",
            jwks_url="https://old.example/jwks",
        )
        session.add(platform)
        session.flush()
        session.add(Deployment(platform_id=platform.id, deployment_id="d1"))
    response = app.test_client().post(
        "/lti/login",
        data={
            "iss": "https://old.example",
            "client_id": "c1",
            "login_hint": "u",
            "target_link_uri": "http://tool.test/lti/launch",
        },
    )
    body = response.get_data(as_text=True)
    assert response.status_code == 403 and "Location" not in response.headers
    assert "javascript:" not in body and "lti_platform_url" in body


def test_canvas_config_json(app: Any) -> None:
    config = app.test_client().get("/lti/config.json").json
    assert config["oidc_initiation_url"] == "http://tool.test/lti/login"
    assert config["target_link_uri"] == "http://tool.test/lti/launch"
    assert config["public_jwk_url"] == "http://tool.test/lti/jwks.json"
    assert set(config["scopes"]) >= {
        "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem",
        "https://purl.imsglobal.org/spec/lti-ags/scope/score",
        "https://purl.imsglobal.org/spec/lti-ags/scope/result.readonly",
        "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly",
    }
    ext = config["extensions"][0]
    assert ext["platform"] == "canvas.instructure.com" and ext["domain"] == "tool.test"
    placements = {p["placement"]: p for p in ext["settings"]["placements"]}
    assert placements["course_navigation"]["message_type"] == "LtiResourceLinkRequest"
    assert placements["link_selection"]["message_type"] == "LtiDeepLinkingRequest"
    assert placements["assignment_selection"]["message_type"] == "LtiDeepLinkingRequest"
    assert (
        config["custom_fields"]["canvas_user_id"] == "$Canvas.user.id"
        and "course_map" in config["custom_fields"]
    )


def test_postmessage_storage_login_then_cookieless_launch_after_the_check(
    app: Any, platform: TestPlatform
) -> None:
    platform.register(app.extensions["db"])
    client = app.test_client()
    answer = login(client, platform, lti_storage_target="post_message_forwarding")
    assert answer.status == 200
    assert "lti-storage.js" in answer.body
    start = answer.body.index('id="lti-storage-data">') + len('id="lti-storage-data">')
    data = json.loads(answer.body[start : answer.body.index("</script>", start)])
    assert data["target"] == "post_message_forwarding" and data["origin"] == platform.issuer
    assert data["state"] == answer.state and data["nonce"] == answer.nonce
    assert app.test_client().get("/lti/static/lti-storage.js").status_code == 200
    # third-party cookies blocked: the launch arrives from a browser with no state cookie
    cookieless = app.test_client()
    token = platform.key.sign(platform.moodle_claims(answer.nonce))
    page = cookieless.post("/lti/launch", data={"id_token": token, "state": answer.state})
    assert page.status_code == 200 and "lti-launch-check.js" in page.get_data(as_text=True)
    check = page.get_data(as_text=True).split('name="lti_storage_check" value="', 1)[1].split('"', 1)[0]
    response = cookieless.post(
        "/lti/launch", data={"id_token": token, "state": answer.state, "lti_storage_check": check}
    )
    assert response.status_code == 303 and response.headers["Location"].startswith("/learn/?lt=")
    # and the state stays single-use without the cookie
    again = app.test_client().post(
        "/lti/launch", data={"id_token": token, "state": answer.state, "lti_storage_check": check}
    )
    assert again.status_code == 400


def test_cli_platforms_and_keys(app: Any) -> None:
    runner = app.test_cli_runner()
    result = runner.invoke(
        args=[
            "platforms",
            "add",
            "--issuer",
            "https://canvas.example",
            "--client-id",
            "10000000000001",
            "--auth-login-url",
            "https://canvas.example/api/lti/authorize_redirect",
            "--auth-token-url",
            "https://canvas.example/login/oauth2/token",
            "--jwks-url",
            "https://canvas.example/api/lti/security/jwks",
            "--deployment",
            "1:abc",
            "--name",
            "Canvas",
        ]
    )
    assert result.exit_code == 0, result.output
    result = runner.invoke(
        args=["platforms", "deployments", "add", "https://canvas.example", "10000000000001", "2:def"]
    )
    assert result.exit_code == 0, result.output
    listed = runner.invoke(args=["platforms", "list"]).output
    assert "https://canvas.example" in listed and "1:abc,2:def" in listed
    assert (
        runner.invoke(args=["platforms", "remove", "https://canvas.example", "10000000000001"]).exit_code == 0
    )
    assert "removed" in runner.invoke(args=["platforms", "list"]).output
    assert runner.invoke(args=["platforms", "remove", "https://nobody.example", "x"]).exit_code != 0
    first = runner.invoke(args=["keys", "rotate", "--grace-hours", "2"]).output.split()[-1]
    second = runner.invoke(args=["keys", "rotate"]).output.split()[-1]
    listing = runner.invoke(args=["keys", "list"]).output
    assert f"{second}\tactive" in listing and f"{first}\tgrace" in listing

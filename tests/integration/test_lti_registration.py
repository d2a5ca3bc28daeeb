"""Dynamic Registration against a platform HTTP server answering like Moodle 4.5, the Canvas config,
the postMessage storage login, and the lti-tool platforms/keys commands."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from werkzeug.wrappers import Request, Response

from lti_tool.lti.registrations import find_platform
from tests.lti_platform_helpers import HttpServer, TestPlatform, login, lti_app, running_platform

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


def test_dynamic_registration_stores_platform_and_deployment(app: Any, moodle: FakeMoodle) -> None:
    response = app.test_client().get(
        "/lti/register",
        query_string={
            "openid_configuration": moodle.base + "/mod/lti/openid-configuration.php",
            "registration_token": REG_TOKEN,
        },
    )
    body = response.get_data(as_text=True)
    assert response.status_code == 200, body
    assert "postMessage({subject: 'org.imsglobal.lti.close'}, '*')" in body
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
    assert platform.product_family == "moodle"


def test_registration_without_the_token_is_refused(app: Any, moodle: FakeMoodle) -> None:
    response = app.test_client().get(
        "/lti/register",
        query_string={
            "openid_configuration": moodle.base + "/mod/lti/openid-configuration.php",
            "registration_token": "x",
        },
        headers={"Accept": "application/json"},
    )
    assert response.status_code == 502 and response.json["error"]["code"] == "lti_registration_refused"
    assert find_platform(app.extensions["db"], moodle.issuer, "IB62Si4OkvIzgB9") is None


def test_registration_refuses_an_issuer_from_another_origin(app: Any, moodle: FakeMoodle) -> None:
    moodle.issuer = "http://moodle.example"
    response = app.test_client().get(
        "/lti/register",
        query_string={
            "openid_configuration": moodle.base + "/mod/lti/openid-configuration.php",
            "registration_token": REG_TOKEN,
        },
        headers={"Accept": "application/json"},
    )
    assert response.status_code == 400 and response.json["error"]["code"] == "lti_registration_issuer"
    assert moodle.received == []


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


@pytest.fixture
def platform() -> Iterator[TestPlatform]:
    with running_platform() as p:
        yield p


def test_postmessage_storage_login_then_cookieless_launch(app: Any, platform: TestPlatform) -> None:
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
    response = cookieless.post("/lti/launch", data={"id_token": token, "state": answer.state})
    assert response.status_code == 303 and response.headers["Location"].startswith("/learn/?lt=")
    # and the state stays single-use without the cookie
    again = app.test_client().post("/lti/launch", data={"id_token": token, "state": answer.state})
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

"""A test LTI platform: real RSA keys, a real JWKS HTTP server on 127.0.0.1 that counts fetches, and
id_token builders shaped like Moodle 4.5's launches (tests/../fixtures) and like Canvas's.

Nothing of the tool is faked: the tool fetches this platform's keys over HTTP and verifies real signatures.
"""

from __future__ import annotations

import html
import json
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

LTI = "https://purl.imsglobal.org/spec/lti/claim/"
MEMBERSHIP = "http://purl.imsglobal.org/vocab/lis/v2/membership#"
LEARNER = MEMBERSHIP + "Learner"
INSTRUCTOR = MEMBERSHIP + "Instructor"
TEACHING_ASSISTANT = "http://purl.imsglobal.org/vocab/lis/v2/membership/Instructor#TeachingAssistant"
TOOL = "http://tool.test"
LAUNCH_URL = TOOL + "/lti/launch"


def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@dataclass
class PlatformKey:
    kid: str
    private: rsa.RSAPrivateKey = field(default_factory=rsa_key)

    @property
    def pem(self) -> str:
        return self.private.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode()

    def jwk(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(RSAAlgorithm.to_jwk(self.private.public_key()))
        data.update({"kid": self.kid, "alg": "RS256", "use": "sig"})
        return data

    def sign(self, claims: dict[str, Any], **header: Any) -> str:
        headers = {"kid": self.kid, "typ": "JWT", **header}
        # the key object, not its PEM: loading a PEM re-validates the RSA key (tens of ms)
        return jwt.encode(claims, self.private, algorithm="RS256", headers=headers)


Handler = Callable[[Request], Response]


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, *args: Any, **kwargs: Any) -> None:
        pass


class HttpServer:
    """A real werkzeug server on 127.0.0.1 in a thread; routes are plain callables; requests are counted."""

    def __init__(self) -> None:
        self.routes: dict[tuple[str, str], Handler] = {}
        self.hits: dict[str, int] = {}
        self.requests: list[Request] = []
        self._server: BaseWSGIServer = make_server(
            "127.0.0.1", 0, self._wsgi, threaded=True, request_handler=_QuietHandler
        )
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def route(self, method: str, path: str, handler: Handler) -> None:
        self.routes[(method, path)] = handler

    def _wsgi(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        request.get_data()
        self.hits[request.path] = self.hits.get(request.path, 0) + 1
        self.requests.append(request)
        handler = self.routes.get((request.method, request.path))
        response = handler(request) if handler else Response("not found", status=404)
        return response(environ, start_response)

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


class TestPlatform:
    """An LTI platform (issuer = its server URL) with a JWKS endpoint that counts fetches."""

    __test__ = False

    def __init__(self, client_id: str = "iiXngBUOLzenY6U", deployment_id: str = "1") -> None:
        self.server = HttpServer()
        self.issuer = self.server.url
        self.client_id = client_id
        self.deployment_id = deployment_id
        self.key = PlatformKey("platform-key-1")
        self.published: list[PlatformKey] = [self.key]
        self.server.route("GET", "/mod/lti/certs.php", self._jwks)

    @property
    def jwks_url(self) -> str:
        return self.issuer + "/mod/lti/certs.php"

    @property
    def jwks_fetches(self) -> int:
        return self.server.hits.get("/mod/lti/certs.php", 0)

    def _jwks(self, request: Request) -> Response:
        body = json.dumps({"keys": [k.jwk() for k in self.published]})
        return Response(body, content_type="application/json; charset=utf-8")

    def rotate(self) -> PlatformKey:
        """The platform starts signing with a new key and publishes only that one."""
        self.key = PlatformKey(f"platform-key-{uuid.uuid4().hex[:6]}")
        self.published = [self.key]
        return self.key

    def register(self, db: Any) -> Any:
        from lti_tool.lti.registrations import save_platform

        return save_platform(
            db,
            issuer=self.issuer,
            client_id=self.client_id,
            auth_login_url=self.issuer + "/mod/lti/auth.php",
            auth_token_url=self.issuer + "/mod/lti/token.php",
            jwks_url=self.jwks_url,
            name="Test Moodle",
            product_family="moodle",
            deployment_ids=[self.deployment_id],
            development=True,
        )

    def login_form(self, login_hint: str = "4", **overrides: str) -> dict[str, str]:
        """A login initiation as Moodle form-POSTs it."""
        form = {
            "iss": self.issuer,
            "target_link_uri": LAUNCH_URL,
            "login_hint": login_hint,
            "lti_message_hint": json.dumps({"cmid": 1, "launchid": "ltilaunch1_413483541"}),
            "client_id": self.client_id,
            "lti_deployment_id": self.deployment_id,
        }
        form.update(overrides)
        return form

    def moodle_claims(self, nonce: str, role: str = LEARNER, sub: str = "4", **extra: Any) -> dict[str, Any]:
        """An LtiResourceLinkRequest shaped like Moodle 4.5's (launch-resource-link.learner.json)."""
        now = int(time.time())
        claims: dict[str, Any] = {
            "nonce": nonce,
            "iat": now,
            "exp": now + 60,
            "iss": self.issuer,
            "aud": self.client_id,
            LTI + "deployment_id": self.deployment_id,
            LTI + "target_link_uri": LAUNCH_URL,
            "sub": sub,
            LTI + "lis": {"person_sourcedid": "S-001", "course_section_sourcedid": "LTICAP-IDN"},
            LTI + "roles": [role],
            LTI + "context": {
                "id": "2",
                "label": "LTICAP101",
                "title": "LTI Capture Course",
                "type": ["CourseSection"],
            },
            LTI + "message_type": "LtiResourceLinkRequest",
            LTI + "resource_link": {"title": "Capture Activity", "description": "Activity", "id": "1"},
            "given_name": "Sam",
            "family_name": "Student",
            "name": "Sam Student",
            "email": "student@example.com",
            LTI + "ext": {"user_username": "student", "lms": "moodle-2"},
            LTI + "launch_presentation": {"locale": "en", "document_target": "iframe"},
            LTI + "tool_platform": {
                "product_family_code": "moodle",
                "version": "2024100706",
                "name": "lticap",
            },
            LTI + "version": "1.3.0",
            LTI + "custom": {
                "activity_param": "from_activity",
                "mixedcase_param": "Value With Spaces",
                "MixedCase_Param": "Value With Spaces",
                "context_memberships_url": self.issuer
                + "/mod/lti/services.php/CourseSection/2/bindings/1/memberships",
                "link_setting_url": self.issuer + "/mod/lti/services.php/links/{link_id}/custom",
            },
            "https://purl.imsglobal.org/spec/lti-ags/claim/endpoint": {
                "scope": [
                    "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem",
                    "https://purl.imsglobal.org/spec/lti-ags/scope/score",
                ],
                "lineitems": self.issuer + "/mod/lti/services.php/2/lineitems?type_id=1",
            },
            "https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice": {
                "context_memberships_url": self.issuer
                + "/mod/lti/services.php/CourseSection/2/bindings/1/memberships",
                "service_versions": ["1.0", "2.0"],
            },
        }
        if role != LEARNER:
            claims.update(
                given_name="Tessa",
                family_name="Teacher",
                name="Tessa Teacher",
                sub=sub if sub != "4" else "3",
            )
        claims.update(extra)
        return claims

    def moodle_deep_linking_claims(self, nonce: str, **extra: Any) -> dict[str, Any]:
        """An LtiDeepLinkingRequest shaped like Moodle's 'Select content' (launch-deep-linking.json)."""
        claims = self.moodle_claims(nonce, role=INSTRUCTOR, sub="3")
        claims.pop(LTI + "resource_link")
        claims[LTI + "message_type"] = "LtiDeepLinkingRequest"
        claims["https://purl.imsglobal.org/spec/lti-dl/claim/deep_linking_settings"] = {
            "accept_types": ["ltiResourceLink"],
            "accept_presentation_document_targets": ["frame", "iframe", "window"],
            "accept_copy_advice": False,
            "accept_multiple": True,
            "accept_unsigned": False,
            "auto_create": False,
            "can_confirm": False,
            "deep_link_return_url": self.issuer + "/mod/lti/contentitem_return.php?course=2&id=1&sesskey=x",
            "title": "Capture Tool",
            "text": "",
        }
        claims.update(extra)
        return claims

    def canvas_claims(
        self, nonce: str, role: str = LEARNER, custom: dict[str, str] | None = None
    ) -> dict[str, Any]:
        """An LtiResourceLinkRequest shaped like Canvas's: custom claims, placement, Canvas extensions."""
        now = int(time.time())
        return {
            "https://purl.imsglobal.org/spec/lti/claim/message_type": "LtiResourceLinkRequest",
            "https://purl.imsglobal.org/spec/lti/claim/version": "1.3.0",
            "https://purl.imsglobal.org/spec/lti/claim/resource_link": {
                "id": "6a8e0b6f-0000-4a5e-9c3c-2b3f2d0c1a10",
                "description": None,
                "title": "Micro-credential Stacks",
                "validation_context": None,
                "errors": {"errors": {}},
            },
            "aud": self.client_id,
            "azp": self.client_id,
            "https://purl.imsglobal.org/spec/lti/claim/deployment_id": self.deployment_id,
            "exp": now + 3600,
            "iat": now,
            "iss": self.issuer,
            "nonce": nonce,
            "sub": "535fa085-f0b3-4b5e-b2a5-0a3c2c1e8f5e",
            "https://purl.imsglobal.org/spec/lti/claim/target_link_uri": LAUNCH_URL,
            "https://purl.imsglobal.org/spec/lti/claim/context": {
                "id": "4dde05e8ca1973bcca9bffc13e1548820eee93a3",
                "label": "PD-101",
                "title": "Learning Differences PD",
                "type": ["http://purl.imsglobal.org/vocab/lis/v2/course#CourseOffering"],
                "validation_context": None,
                "errors": {"errors": {}},
            },
            "https://purl.imsglobal.org/spec/lti/claim/tool_platform": {
                "guid": "VCsrU0m1cMh7L3xVkHMCrT7gq3ZHIjPFtL7e8nSe:canvas-lms",
                "name": "Test Canvas",
                "version": "cloud",
                "product_family_code": "canvas",
            },
            "https://purl.imsglobal.org/spec/lti/claim/launch_presentation": {
                "document_target": "iframe",
                "return_url": "https://canvas.example/courses/1/external_content/success/external_tool_redirect",
                "locale": "en",
            },
            "locale": "en",
            "https://purl.imsglobal.org/spec/lti/claim/roles": [
                "http://purl.imsglobal.org/vocab/lis/v2/institution/person#Student",
                role,
                "http://purl.imsglobal.org/vocab/lis/v2/system/person#User",
            ],
            "https://purl.imsglobal.org/spec/lti/claim/custom": {
                "canvas_user_id": "42",
                "canvas_course_id": "7",
                "unresolved": "$Canvas.user.loginId",
                **(custom or {}),
            },
            "https://purl.imsglobal.org/spec/lti/claim/lis": {
                "person_sourcedid": None,
                "course_offering_sourcedid": None,
                "validation_context": None,
                "errors": {"errors": {}},
            },
            "https://purl.imsglobal.org/spec/lti-ags/claim/endpoint": {
                "scope": ["https://purl.imsglobal.org/spec/lti-ags/scope/score"],
                "lineitems": "https://canvas.example/api/lti/courses/7/line_items",
                "validation_context": None,
                "errors": {"errors": {}},
            },
            "https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice": {
                "context_memberships_url": "https://canvas.example/api/lti/courses/7/names_and_roles",
                "service_versions": ["2.0"],
                "validation_context": None,
                "errors": {"errors": {}},
            },
            "https://www.instructure.com/placement": "course_navigation",
            "errors": {"errors": {}},
            "picture": "https://canvas.example/images/messages/avatar-50.png",
            "name": "Lee Canvas-Learner",
            "given_name": "Lee",
            "family_name": "Canvas-Learner",
            "email": "lee@canvas.example",
        }

    def close(self) -> None:
        self.server.close()


@dataclass
class LoginAnswer:
    status: int
    state: str
    nonce: str
    auth_params: dict[str, str]
    body: str


def login(client: Any, platform: TestPlatform, method: str = "POST", **overrides: str) -> LoginAnswer:
    """Run the tool's OIDC login and read back the auth request it sends to the platform."""
    form = platform.login_form(**overrides)
    response = (
        client.post("/lti/login", data=form)
        if method == "POST"
        else client.get("/lti/login", query_string=form)
    )
    body = response.get_data(as_text=True)
    if response.status_code == 302:
        params = {k: v[0] for k, v in parse_qs(urlsplit(response.headers["Location"]).query).items()}
    elif response.status_code == 200 and "lti-storage-data" in body:
        start = body.index('id="lti-storage-data">') + len('id="lti-storage-data">')
        data = json.loads(body[start : body.index("</script>", start)])
        params = {k: v[0] for k, v in parse_qs(urlsplit(data["authUrl"]).query).items()}
    else:
        return LoginAnswer(response.status_code, "", "", {}, body)
    return LoginAnswer(response.status_code, params["state"], params["nonce"], params, body)


@contextmanager
def running_platform(**kwargs: Any) -> Iterator[TestPlatform]:
    platform = TestPlatform(**kwargs)
    try:
        yield platform
    finally:
        platform.close()


def lti_app(database_url: str, tmp_path: Any, **extra: Any) -> Any:
    """The tool on ``database_url`` with unknown-kid refreshes allowed back to back (tests run fast)."""
    from lti_tool import create_app
    from tests.conftest import app_config

    return create_app(app_config(database_url, tmp_path, LTI_JWKS_MIN_REFRESH_SECONDS=0, **extra))


def launch(
    client: Any, platform: TestPlatform, claims: dict[str, Any] | None = None, **login_overrides: str
) -> Any:
    """A full login + launch; ``claims`` defaults to a Moodle learner launch for the login's nonce."""
    answer = login(client, platform, **login_overrides)
    assert answer.status in (200, 302), answer.body
    body = claims if claims is not None else platform.moodle_claims(answer.nonce)
    body = {**body, "nonce": answer.nonce} if "nonce" in body and body["nonce"] == "<nonce>" else body
    return client.post("/lti/launch", data={"id_token": platform.key.sign(body), "state": answer.state})


_LANDED_SCRIPT = re.compile(r'<script src="[^"]*/lti-landed\.js" data-url="([^"]*)"')


def landing_of(response: Any) -> str | None:
    """Where a launch landed the user: its redirect's Location or, when it answered with the landing page
    itself (a learner's progress page), the URL that page makes its history entry. None for neither."""
    if response.status_code in (302, 303):
        return str(response.headers["Location"])
    if response.status_code == 200:
        found = _LANDED_SCRIPT.search(response.get_data(as_text=True))
        return html.unescape(found.group(1)) if found else None
    return None


def landed_path(url: str, response: Any) -> str:
    """The path a browser shows after following a launch to ``url`` with ``response``: a launch that answered
    with the learner's page itself shows that page's own URL (its history entry), anything else its URL."""
    from urllib.parse import urlsplit

    path = urlsplit(url).path
    if path != "/lti/launch":
        return path
    body = response.text if hasattr(response, "text") and not callable(response.text) else None
    body = body if body is not None else response.get_data(as_text=True)
    found = _LANDED_SCRIPT.search(body)
    return urlsplit(html.unescape(found.group(1))).path if found else path


def row_counts(db: Any) -> dict[str, int]:
    from sqlalchemy import func, select

    from lti_tool.db.lti_models import UsedNonce
    from lti_tool.db.models import Context, Membership, User

    with db.read() as session:
        return {
            model.__tablename__: session.scalar(select(func.count()).select_from(model))
            for model in (User, Context, Membership, UsedNonce)
        }

"""Sessions and the headers every page carries (issue 7, "Low, but expected of a careful tool").

- The cookie-less URL token (``lt``) slides: each page re-signs it; one unused for an hour is refused, and
  any session ends eight hours after its launch.
- A session holds the launch's roles; a newer launch (or roster) with fewer roles supersedes it.
- The token stays out of the access log (gunicorn's own logger, with the format ``lti-tool serve`` uses).
- Every response: a Content-Security-Policy without inline script, nosniff, Referrer-Policy; signed-in
  pages may be framed only by the user's platform; no template has inline script or event handlers.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from flask import Flask
from itsdangerous import TimestampSigner, URLSafeTimedSerializer

from lti_tool.web import auth
from tests import factories
from tests.lti_platform_helpers import INSTRUCTOR, LEARNER, TestPlatform, landing_of, login, lti_app

CRED = "ef-foundations-of-practice"
TEMPLATES = Path(__file__).resolve().parents[2] / "lti_tool" / "web" / "templates"


def _token_for(app: Flask, actor: auth.Actor, age_seconds: int = 0) -> str:
    """A token signed as the tool signs it, ``age_seconds`` ago."""

    class PastSigner(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(time.time()) - age_seconds

    serializer = URLSafeTimedSerializer(app.config["SECRET_KEY"], salt="lti-tool-actor", signer=PastSigner)
    return serializer.dumps(actor.to_dict())


def test_the_url_token_slides_and_expires_when_idle(sqlite_app: Flask) -> None:
    db = sqlite_app.extensions["db"]
    factories.load_shipped_map(db)
    learner = factories.course(db).learner()
    client = sqlite_app.test_client(use_cookies=False)

    fresh = _token_for(sqlite_app, learner)
    page = client.get(f"/learn/?lt={fresh}")
    assert page.status_code == 200
    links = set(re.findall(r"lt=([\w.-]+)", page.get_data(as_text=True)))
    with sqlite_app.app_context():
        assert links and all(auth._from_token(t) is not None for t in links)

    nearly_idle = _token_for(sqlite_app, learner, age_seconds=auth.TOKEN_IDLE_SECONDS - 60)
    renewed = client.get(f"/learn/?lt={nearly_idle}")
    assert renewed.status_code == 200
    (next_token,) = set(re.findall(r"lt=([\w.-]+)", renewed.get_data(as_text=True)))
    assert next_token != nearly_idle  # re-signed: a fresh idle period
    assert client.get(f"/learn/?lt={next_token}").status_code == 200

    idle = _token_for(sqlite_app, learner, age_seconds=auth.TOKEN_IDLE_SECONDS + 60)
    assert client.get(f"/learn/?lt={idle}").status_code == 401


def test_any_session_ends_eight_hours_after_its_launch(sqlite_app: Flask) -> None:
    db = sqlite_app.extensions["db"]
    factories.load_shipped_map(db)
    learner = factories.course(db).learner()
    old = replace(learner, signed_in_at=int(time.time()) - auth.SESSION_MAX_SECONDS - 60)
    client = sqlite_app.test_client(use_cookies=False)
    assert client.get(f"/learn/?lt={_token_for(sqlite_app, old)}").status_code == 401
    cookie_client = sqlite_app.test_client()
    factories.sign_in(cookie_client, old)
    assert cookie_client.get("/learn/").status_code == 401
    factories.sign_in(cookie_client, learner)
    assert cookie_client.get("/learn/").status_code == 200


@pytest.fixture
def lti(database_url: str, tmp_path: Path, platform: TestPlatform) -> Iterator[Flask]:
    application = lti_app(database_url, tmp_path)
    platform.register(application.extensions["db"])
    yield application
    application.extensions["db"].dispose()


def _launch(client: Any, platform: TestPlatform, role: str) -> Any:
    answer = login(client, platform)
    claims = platform.moodle_claims(answer.nonce, role=role, sub="7")  # one person, whatever the role
    claims["https://purl.imsglobal.org/spec/lti/claim/custom"] = {"course_map": "learning-differences"}
    token = platform.key.sign(claims)
    return client.post("/lti/launch", data={"id_token": token, "state": answer.state})


def test_a_newer_launch_with_fewer_roles_supersedes_older_sessions(
    lti: Flask, platform: TestPlatform
) -> None:
    factories.load_shipped_map(lti.extensions["db"])
    teacher_browser, other_browser = lti.test_client(), lti.test_client()
    assert _launch(teacher_browser, platform, INSTRUCTOR).status_code == 303
    assert teacher_browser.get("/assess/").status_code == 200
    with teacher_browser.session_transaction() as session:
        actor = auth.Actor.from_dict(session["actor"])
    staff_token = _token_for(lti, actor)
    # The same person is launched again as a learner only (the course demoted them).
    assert landing_of(_launch(other_browser, platform, LEARNER)) == "/learn/"
    assert teacher_browser.get("/assess/").status_code == 401
    assert lti.test_client(use_cookies=False).get(f"/assess/?lt={staff_token}").status_code == 401
    assert other_browser.get("/learn/").status_code == 200


def test_the_access_log_never_holds_the_session_token(tmp_path: Path) -> None:
    from gunicorn.config import Config
    from gunicorn.glogging import Logger

    from lti_tool.cli.serve import ACCESS_LOG_FORMAT

    log_file = tmp_path / "access.log"
    cfg = Config()
    cfg.set("accesslog", str(log_file))
    cfg.set("access_log_format", ACCESS_LOG_FORMAT)
    logger = Logger(cfg)
    environ = {
        "REQUEST_METHOD": "GET",
        "RAW_URI": "/learn/credentials/x?lt=SECRET.TOKEN",
        "PATH_INFO": "/learn/credentials/x",
        "QUERY_STRING": "lt=SECRET.TOKEN",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "HTTP_REFERER": "https://tool.example/learn/?lt=SECRET.TOKEN",
        "HTTP_USER_AGENT": "test",
    }
    response = SimpleNamespace(status="200 OK", sent=10, headers=[("X-Request-Id", "abc123")])
    request = SimpleNamespace(headers=[("REFERER", environ["HTTP_REFERER"])])
    logger.access(response, request, environ, timedelta(milliseconds=5))
    logger.close_on_exec()
    for handler in logger.access_log.handlers:
        handler.flush()
    line = log_file.read_text()
    assert "/learn/credentials/x" in line and "abc123" in line
    assert "SECRET" not in line and "lt=" not in line


def test_every_page_carries_the_security_headers(sqlite_app: Flask) -> None:
    db = sqlite_app.extensions["db"]
    factories.load_shipped_map(db)
    course = factories.course(db)
    learner = course.learner()
    client = sqlite_app.test_client()
    factories.sign_in(client, learner)
    anonymous = sqlite_app.test_client()
    for response in (
        client.get("/learn/"),
        client.get(f"/learn/credentials/{CRED}"),
        anonymous.get("/learn/"),
        anonymous.get("/healthz"),
        anonymous.get("/lti/jwks.json"),
        anonymous.get("/static/app.css"),
    ):
        headers = response.headers
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Referrer-Policy"] == "same-origin"
        policy = headers["Content-Security-Policy"]
        assert (
            "script-src 'self'" in policy and "unsafe-inline" not in policy and "object-src 'none'" in policy
        )

    signed_in = client.get("/learn/").headers["Content-Security-Policy"]
    ancestors = signed_in.split("frame-ancestors ", 1)[1].split(";")[0].split()
    # course() registers https://lmsN.example.edu: the user's platform and the tool may frame it
    assert ancestors[0] == "'self'" and "*" not in ancestors
    assert any(re.fullmatch(r"https://lms\d+\.example\.edu", a) for a in ancestors), ancestors
    assert anonymous.get("/learn/").headers["Content-Security-Policy"].endswith("frame-ancestors *")


def test_signed_in_pages_may_be_framed_by_the_launching_page_and_configured_origins(
    database_url: str, tmp_path: Path, platform: TestPlatform
) -> None:
    app = lti_app(database_url, tmp_path, FRAME_ANCESTORS="https://district.example.org")
    platform.register(app.extensions["db"])
    try:
        client = app.test_client()
        answer = login(client, platform)
        claims = platform.moodle_claims(answer.nonce)
        claims["https://purl.imsglobal.org/spec/lti/claim/launch_presentation"] = {
            "document_target": "iframe",
            "return_url": "https://school.instructure.com/courses/7/external_content/success",
        }
        launched = client.post(
            "/lti/launch", data={"id_token": platform.key.sign(claims), "state": answer.state}
        )
        assert launched.status_code == 303
        policy = client.get("/learn/").headers["Content-Security-Policy"]
        ancestors = policy.split("frame-ancestors ", 1)[1].split()
        assert ancestors[:2] == ["'self'", platform.issuer]
        assert "https://school.instructure.com" in ancestors and "https://district.example.org" in ancestors
    finally:
        app.extensions["db"].dispose()


def test_no_template_has_inline_script_or_event_handlers() -> None:
    offenders = []
    for template in TEMPLATES.rglob("*.html"):
        text = template.read_text()
        for tag in re.findall(r"<script\b[^>]*>", text):
            if "src=" not in tag and 'type="application/json"' not in tag:
                offenders.append(f"{template.name}: {tag}")
        offenders += [f"{template.name}: {m}" for m in re.findall(r"\son[a-z]+\s*=", text)]
        offenders += [f"{template.name}: javascript: URL" for _ in re.findall(r"javascript:", text)]
    assert offenders == []


@pytest.mark.parametrize(
    "sent",
    ["x" * 65, "abc def", "a=b", 'quote"d', "level=ERROR", "ünïcode"],
)
def test_a_request_id_that_could_forge_a_log_field_is_replaced(app: Any, sent: str) -> None:
    response = app.test_client().get("/lti/config.json", headers={"X-Request-Id": sent})
    echoed = response.headers["X-Request-Id"]
    assert echoed != sent and len(echoed) == 16 and all(ch in "0123456789abcdef" for ch in echoed)


def test_a_plain_request_id_from_a_proxy_is_kept(app: Any) -> None:
    response = app.test_client().get("/lti/config.json", headers={"X-Request-Id": "req-42.a:b_c"})
    assert response.headers["X-Request-Id"] == "req-42.a:b_c"

"""Valid launches, Moodle- and Canvas-shaped, with real keys and a real JWKS server: each lands on the
page for its role with the launch-scoped actor signed in."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from lti_tool.db.models import Context, Course, Membership, User
from tests.lti_platform_helpers import (
    INSTRUCTOR,
    TEACHING_ASSISTANT,
    TestPlatform,
    login,
    lti_app,
    row_counts,
)


@pytest.fixture
def app(database_url: str, tmp_path: Path, platform: TestPlatform) -> Iterator[Any]:
    application = lti_app(database_url, tmp_path)
    platform.register(application.extensions["db"])
    yield application
    application.extensions["db"].dispose()


def _launch(client: Any, platform: TestPlatform, build: Any, **login_overrides: str) -> Any:
    answer = login(client, platform, **login_overrides)
    assert answer.status == 302, answer.body
    token = platform.key.sign(build(answer.nonce))
    return client.post("/lti/launch", data={"id_token": token, "state": answer.state})


def _actor(client: Any) -> dict[str, Any]:
    with client.session_transaction() as session:
        return dict(session["actor"])


def test_login_redirects_to_the_platform_auth_endpoint_with_state_and_nonce(
    app: Any, platform: TestPlatform
) -> None:
    client = app.test_client()
    answer = login(client, platform)
    assert answer.status == 302
    params = answer.auth_params
    assert params["scope"] == "openid" and params["response_type"] == "id_token"
    assert params["response_mode"] == "form_post" and params["prompt"] == "none"
    assert params["client_id"] == platform.client_id
    assert params["redirect_uri"] == "http://tool.test/lti/launch"
    assert params["login_hint"] == "4" and params["lti_message_hint"].startswith("{")
    get_answer = login(client, platform, method="GET")
    assert get_answer.status == 302 and get_answer.state != answer.state


def test_state_cookie_is_samesite_none_and_secure_over_https(
    database_url: str, tmp_path: Path, platform: TestPlatform
) -> None:
    application = lti_app(database_url, tmp_path, SESSION_COOKIE_SECURE="1")
    platform.register(application.extensions["db"])
    response = application.test_client().post("/lti/login", data=platform.login_form())
    cookie = next(h for h in response.headers.getlist("Set-Cookie") if h.startswith("lti1p3-state-"))
    assert "Secure" in cookie and "SameSite=None" in cookie and "HttpOnly" in cookie
    application.extensions["db"].dispose()


def test_state_cookie_over_plain_http_is_lax_not_secure(app: Any, platform: TestPlatform) -> None:
    """A development tool on http:// is launched from its own site: Lax works there, Secure would not."""
    response = app.test_client().post("/lti/login", data=platform.login_form())
    cookie = next(h for h in response.headers.getlist("Set-Cookie") if h.startswith("lti1p3-state-"))
    assert "Secure" not in cookie and "SameSite=Lax" in cookie and "HttpOnly" in cookie


def test_moodle_learner_launch_lands_on_learn_with_actor(app: Any, platform: TestPlatform) -> None:
    client = app.test_client()
    response = _launch(client, platform, platform.moodle_claims)
    assert response.status_code == 303
    assert response.headers["Location"] == "/learn/"
    actor = _actor(client)
    assert actor["roles"] == ["learner"]
    db = app.extensions["db"]
    with db.read() as session:
        user = session.scalars(select(User)).one()
        context = session.scalars(select(Context)).one()
        membership = session.scalars(select(Membership)).one()
        assert (user.sub, user.name, user.email) == ("4", "Sam Student", "student@example.com")
        assert (context.context_id, context.title, context.label) == ("2", "LTI Capture Course", "LTICAP101")
        assert context.memberships_url and context.memberships_url.endswith("/bindings/1/memberships")
        assert context.lineitems_url and context.lineitems_url.endswith("lineitems?type_id=1")
        assert membership.roles == ["learner"] and membership.last_launch_at is not None
        assert actor["user_id"] == user.id and actor["context_id"] == context.id


def test_instructor_lands_on_assess(app: Any, platform: TestPlatform) -> None:
    # Moodle sends editing and non-editing teachers alike as Instructor: a teacher, not (yet) an editor
    client = app.test_client()
    response = _launch(client, platform, lambda n: platform.moodle_claims(n, role=INSTRUCTOR))
    assert response.status_code == 303 and response.headers["Location"] == "/assess/"
    assert _actor(client)["roles"] == ["assessor"]


def test_content_developer_lands_on_design(app: Any, platform: TestPlatform) -> None:
    client = app.test_client()
    role = "http://purl.imsglobal.org/vocab/lis/v2/membership#ContentDeveloper"
    response = _launch(client, platform, lambda n: platform.moodle_claims(n, role=role))
    assert response.status_code == 303 and response.headers["Location"] == "/design/"
    assert _actor(client)["roles"] == ["assessor", "designer"]


def test_teaching_assistant_lands_on_assess(app: Any, platform: TestPlatform) -> None:
    client = app.test_client()
    response = _launch(
        client, platform, lambda n: platform.moodle_claims(n, role=TEACHING_ASSISTANT, sub="9")
    )
    assert response.headers["Location"] == "/assess/"
    assert _actor(client)["roles"] == ["assessor"]


def test_deep_linking_launch_stores_settings_and_goes_to_picker(app: Any, platform: TestPlatform) -> None:
    client = app.test_client()
    response = _launch(client, platform, platform.moodle_deep_linking_claims)
    assert response.status_code == 303 and response.headers["Location"] == "/lti/deep-link"
    from lti_tool.lti.deep_linking_session import current_deep_link

    with app.test_request_context("/lti/deep-link"):
        from flask import session

        with client.session_transaction() as stored:
            session.update(stored)
        settings = current_deep_link()
    assert settings is not None
    assert settings.deep_link_return_url.startswith(platform.issuer + "/mod/lti/contentitem_return.php")
    assert settings.accept_types == ("ltiResourceLink",) and settings.data is None
    assert settings.client_id == platform.client_id and settings.deployment_id == "1"


def test_custom_stack_and_credential_open_their_pages(app: Any, platform: TestPlatform) -> None:
    client = app.test_client()

    def with_custom(custom: dict[str, str]) -> Any:
        def build(nonce: str) -> dict[str, Any]:
            claims = platform.moodle_claims(nonce)
            claims["https://purl.imsglobal.org/spec/lti/claim/custom"] = custom
            return claims

        return build

    response = _launch(client, platform, with_custom({"Stack": "lm-stack", "stack": "lm-stack"}))
    assert response.headers["Location"] == "/learn/stacks/lm-stack"
    response = _launch(client, platform, with_custom({"credential": "wm-foundations"}))
    assert response.headers["Location"] == "/learn/credentials/wm-foundations"


def test_canvas_launch_binds_course_map_from_custom_claim(app: Any, platform: TestPlatform) -> None:
    db = app.extensions["db"]
    with db.transaction() as session:
        session.add(Course(key="learning-differences", title="Learning Differences"))
    client = app.test_client()
    response = _launch(
        client, platform, lambda n: platform.canvas_claims(n, custom={"course_map": "learning-differences"})
    )
    assert response.status_code == 303 and response.headers["Location"] == "/learn/"
    assert _actor(client)["course_key"] == "learning-differences"
    # a later launch without course_map keeps the binding
    response = _launch(client, platform, lambda n: platform.canvas_claims(n))
    assert response.status_code == 303
    with db.read() as session:
        context = session.scalars(select(Context)).one()
        assert context.course_key == "learning-differences" and context.title == "Learning Differences PD"
    assert _actor(client)["course_key"] == "learning-differences"


def test_repeat_launches_update_rather_than_duplicate(app: Any, platform: TestPlatform) -> None:
    client = app.test_client()
    for _ in range(3):
        assert _launch(client, platform, platform.moodle_claims).status_code == 303
    counts = row_counts(app.extensions["db"])
    assert (counts["users"], counts["contexts"], counts["memberships"], counts["used_nonces"]) == (1, 1, 1, 3)

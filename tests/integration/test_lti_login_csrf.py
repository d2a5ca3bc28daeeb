"""A launch whose state cookie did not come back (third-party cookies blocked) is not accepted on the
server-side state alone (login CSRF: an attacker's own launch pushed into a victim's browser).

- Login with platform storage (``lti_storage_target``): the launch answers a check page that reads the state
  back from the platform's storage in this browser; only its second POST, with the check, is accepted.
- Login without: a page offers the same login in a new window (where the cookie works); nothing accepted.
- Either way a forged launch is still refused with a 4xx first, and nothing is written until accepted.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from lti_tool.db.lti_models import OidcState
from lti_tool.web.launch_check import storage_check
from tests.lti_platform_helpers import PlatformKey, TestPlatform, login, lti_app, row_counts


@pytest.fixture
def app(database_url: str, tmp_path: Path, platform: TestPlatform) -> Iterator[Any]:
    application = lti_app(database_url, tmp_path)
    platform.register(application.extensions["db"])
    yield application
    application.extensions["db"].dispose()


def _hidden(body: str, name: str) -> str | None:
    match = re.search(rf'name="{re.escape(name)}" value="([^"]*)"', body)
    return match.group(1) if match else None


def _state_used(app: Any, state: str) -> bool:
    with app.extensions["db"].read() as session:
        return session.scalars(select(OidcState.used_at).where(OidcState.state == state)).one() is not None


def test_cookieless_launch_without_platform_storage_offers_a_new_window(
    app: Any, platform: TestPlatform
) -> None:
    answer = login(app.test_client(), platform)
    token = platform.key.sign(platform.moodle_claims(answer.nonce))
    before = row_counts(app.extensions["db"])
    response = app.test_client().post("/lti/launch", data={"id_token": token, "state": answer.state})
    body = response.get_data(as_text=True)
    assert response.status_code == 401
    assert "Open the tool in a new window" in body and "lt=" not in response.headers.get("Location", "")
    # The form starts the same login again, in a new top-level window.
    assert 'action="/lti/login"' in body and 'target="_blank"' in body
    assert _hidden(body, "iss") == platform.issuer and _hidden(body, "login_hint") == "4"
    assert _hidden(body, "client_id") == platform.client_id
    assert _hidden(body, "lti_deployment_id") == platform.deployment_id
    assert _hidden(body, "target_link_uri") == "http://tool.test/lti/launch"
    assert row_counts(app.extensions["db"]) == before  # no user, membership or nonce written
    assert not _state_used(app, answer.state)
    # The same launch from the browser that has the cookie is still accepted (the state stayed unused).
    client = app.test_client()
    again = login(client, platform)
    ok = client.post(
        "/lti/launch",
        data={"id_token": platform.key.sign(platform.moodle_claims(again.nonce)), "state": again.state},
    )
    assert ok.status_code == 303 and ok.headers["Location"] == "/learn/"


def test_cookieless_launch_with_platform_storage_is_accepted_after_the_browser_check(
    app: Any, platform: TestPlatform
) -> None:
    answer = login(app.test_client(), platform, lti_storage_target="_parent")
    token = platform.key.sign(platform.moodle_claims(answer.nonce))
    cookieless = app.test_client()
    first = cookieless.post(
        "/lti/launch", data={"id_token": token, "state": answer.state, "lti_storage_target": "_parent"}
    )
    body = first.get_data(as_text=True)
    assert first.status_code == 200 and "lti-launch-check.js" in body
    assert not _state_used(app, answer.state)
    check = _hidden(body, "lti_storage_check")
    assert check and _hidden(body, "state") == answer.state and _hidden(body, "id_token") == token
    data = re.search(r'id="lti-check-data">([^<]*)</script>', body)
    assert data and f'"state": "{answer.state}"' in data.group(1).replace('\\"', '"')

    forged = cookieless.post(
        "/lti/launch", data={"id_token": token, "state": answer.state, "lti_storage_check": "0" * 64}
    )
    assert forged.status_code == 200 and "lti-launch-check.js" in forged.get_data(as_text=True)
    assert not _state_used(app, answer.state)

    second = cookieless.post(
        "/lti/launch", data={"id_token": token, "state": answer.state, "lti_storage_check": check}
    )
    assert second.status_code == 303
    assert second.headers["Location"].startswith("/learn/?lt=")
    assert _state_used(app, answer.state)
    replay = cookieless.post(
        "/lti/launch", data={"id_token": token, "state": answer.state, "lti_storage_check": check}
    )
    assert replay.status_code == 400 and "already used" in replay.get_data(as_text=True)


def test_the_storage_check_does_not_replace_the_cookie_of_a_cookie_login(
    app: Any, platform: TestPlatform
) -> None:
    """A login that kept its state in a cookie cannot be confirmed through platform storage instead."""
    answer = login(app.test_client(), platform)  # no lti_storage_target
    token = platform.key.sign(platform.moodle_claims(answer.nonce))
    with app.test_request_context():
        check = storage_check(answer.state)
    response = app.test_client().post(
        "/lti/launch", data={"id_token": token, "state": answer.state, "lti_storage_check": check}
    )
    assert response.status_code == 401 and not _state_used(app, answer.state)


def test_forged_cookieless_launch_is_still_refused_with_a_4xx(app: Any, platform: TestPlatform) -> None:
    answer = login(app.test_client(), platform, lti_storage_target="_parent")
    # Signed with another key under the platform's kid: the signature check refuses it before any page.
    forged = PlatformKey(platform.key.kid).sign(platform.moodle_claims(answer.nonce))
    response = app.test_client().post("/lti/launch", data={"id_token": forged, "state": answer.state})
    assert response.status_code == 400
    assert "signature" in response.get_data(as_text=True)

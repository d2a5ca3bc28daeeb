"""Keys on both sides: the platform's JWKS fetched once per cache lifetime (not per launch), one refresh on
an unknown kid (platform key rotation), and the tool's own keys rotated with the old kid still published."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jwt
import pytest

from lti_tool.lti import keys
from lti_tool.lti.registrations import DbToolConf
from tests.lti_platform_helpers import PlatformKey, TestPlatform, login, lti_app


@pytest.fixture
def app(database_url: str, tmp_path: Path, platform: TestPlatform) -> Iterator[Any]:
    application = lti_app(database_url, tmp_path)
    platform.register(application.extensions["db"])
    yield application
    application.extensions["db"].dispose()


def _launch(client: Any, platform: TestPlatform, key: PlatformKey | None = None) -> Any:
    answer = login(client, platform)
    token = (key or platform.key).sign(platform.moodle_claims(answer.nonce))
    return client.post("/lti/launch", data={"id_token": token, "state": answer.state})


def test_jwks_fetched_once_across_many_launches(app: Any, platform: TestPlatform) -> None:
    client = app.test_client()
    for _ in range(10):
        assert _launch(client, platform).status_code == 303
    assert platform.jwks_fetches == 1


def test_cached_key_set_is_shared_across_processes(app: Any, platform: TestPlatform, tmp_path: Path) -> None:
    """A second app (another worker) on the same database uses the stored key set without fetching."""
    assert _launch(app.test_client(), platform).status_code == 303
    other = lti_app(app.extensions["db"].url, tmp_path / "other")
    try:
        assert _launch(other.test_client(), platform).status_code == 303
    finally:
        other.extensions["db"].dispose()
    assert platform.jwks_fetches == 1


def test_platform_key_rotation_is_handled_by_one_refresh(app: Any, platform: TestPlatform) -> None:
    client = app.test_client()
    assert _launch(client, platform).status_code == 303
    platform.rotate()
    assert _launch(client, platform).status_code == 303
    assert platform.jwks_fetches == 2
    for _ in range(3):
        assert _launch(client, platform).status_code == 303
    assert platform.jwks_fetches == 2


def test_unknown_kid_refreshes_exactly_once_then_refuses(app: Any, platform: TestPlatform) -> None:
    client = app.test_client()
    assert _launch(client, platform).status_code == 303
    response = _launch(client, platform, key=PlatformKey("never-published"))
    assert response.status_code == 400 and 'data-error-code="lti_unknown_kid"' in response.get_data(
        as_text=True
    )
    assert platform.jwks_fetches == 2


def test_unknown_kid_refreshes_are_spaced(database_url: str, tmp_path: Path, platform: TestPlatform) -> None:
    """With the default spacing, forged kids cannot make the tool fetch the platform's keys per request."""
    from lti_tool import create_app
    from tests.conftest import app_config

    application = create_app(app_config(database_url, tmp_path, LTI_JWKS_MIN_REFRESH_SECONDS=60))
    platform.register(application.extensions["db"])
    try:
        client = application.test_client()
        assert _launch(client, platform).status_code == 303
        for _ in range(5):
            assert _launch(client, platform, key=PlatformKey("forged")).status_code == 400
        assert platform.jwks_fetches == 1
    finally:
        application.extensions["db"].dispose()


def test_tool_key_rotation_keeps_old_kid_published(app: Any) -> None:
    db = app.extensions["db"]
    client = app.test_client()
    first = client.get("/lti/jwks.json").json["keys"]
    assert len(first) == 1 and first[0]["alg"] == "RS256" and first[0]["use"] == "sig"
    old_kid, old_pem = keys.active_signing_key(db)
    assert first[0]["kid"] == old_kid
    signed_before = jwt.encode({"iss": "tool"}, old_pem, algorithm="RS256", headers={"kid": old_kid})
    new_kid = keys.rotate(db, grace_hours=1)
    assert keys.active_signing_key(db)[0] == new_kid != old_kid
    published = {k["kid"]: k for k in client.get("/lti/jwks.json").json["keys"]}
    assert set(published) == {old_kid, new_kid}
    # a token signed just before the rotation still verifies against the published set
    key = jwt.PyJWK(published[old_kid])
    assert jwt.decode(signed_before, key.key, algorithms=["RS256"])["iss"] == "tool"
    third = keys.rotate(db, grace_hours=0)  # the second key retires at once; the first is still in grace
    assert {k["kid"] for k in client.get("/lti/jwks.json").json["keys"]} == {old_kid, third}
    assert [(k.kid, k.status) for k in keys.list_keys(db)] == [
        (third, "active"),
        (new_kid, "retired"),
        (old_kid, "grace"),
    ]


def test_pylti1p3_tool_conf_reads_registrations_from_the_database(app: Any, platform: TestPlatform) -> None:
    conf = DbToolConf(app.extensions["db"])
    registration = conf.find_registration_by_params(platform.issuer, platform.client_id)
    assert registration is not None
    assert registration.get_key_set_url() == platform.jwks_url
    assert registration.get_kid() == keys.active_signing_key(app.extensions["db"])[0]
    assert conf.find_deployment_by_params(platform.issuer, "1", platform.client_id) is not None
    assert conf.find_deployment_by_params(platform.issuer, "99", platform.client_id) is None
    assert conf.find_registration_by_params(platform.issuer, "nope") is None

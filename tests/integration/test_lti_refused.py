"""The negative suite: one forged or broken launch per security check, each refused with a 4xx, a stable
code, a log line naming the check, and nothing written (users, contexts, memberships, nonces, state)."""

from __future__ import annotations

import base64
import json
import logging
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import jwt
import pytest
from sqlalchemy import select

from lti_tool.db.lti_models import OidcState
from lti_tool.lti.registrations import remove_platform
from tests.lti_platform_helpers import (
    LTI,
    LoginAnswer,
    PlatformKey,
    TestPlatform,
    login,
    lti_app,
    row_counts,
    running_platform,
)

Forge = Callable[[TestPlatform, LoginAnswer], dict[str, str]]


@pytest.fixture(scope="module")
def platform() -> Iterator[TestPlatform]:
    with running_platform() as p:
        yield p


@pytest.fixture
def app(sqlite_url: str, tmp_path: Path, platform: TestPlatform) -> Iterator[Any]:
    application = lti_app(sqlite_url, tmp_path)
    platform.register(application.extensions["db"])
    yield application
    application.extensions["db"].dispose()


def _signed(claims_change: Callable[[dict[str, Any], TestPlatform], None]) -> Forge:
    def forge(platform: TestPlatform, answer: LoginAnswer) -> dict[str, str]:
        claims = platform.moodle_claims(answer.nonce)
        claims_change(claims, platform)
        return {"id_token": platform.key.sign(claims), "state": answer.state}

    return forge


def _tampered(platform: TestPlatform, answer: LoginAnswer) -> dict[str, str]:
    token = platform.key.sign(platform.moodle_claims(answer.nonce, sub="4"))
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["sub"] = "1"  # become somebody else
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return {"id_token": f"{header}.{forged}.{signature}", "state": answer.state}


def _other_key_same_kid(platform: TestPlatform, answer: LoginAnswer) -> dict[str, str]:
    impostor = PlatformKey(platform.key.kid)
    return {"id_token": impostor.sign(platform.moodle_claims(answer.nonce)), "state": answer.state}


def _unknown_kid(platform: TestPlatform, answer: LoginAnswer) -> dict[str, str]:
    impostor = PlatformKey("kid-nobody-published")
    return {"id_token": impostor.sign(platform.moodle_claims(answer.nonce)), "state": answer.state}


def _hs256(platform: TestPlatform, answer: LoginAnswer) -> dict[str, str]:
    # the classic confusion: HMAC keyed with something the attacker knows
    token = jwt.encode(
        platform.moodle_claims(answer.nonce),
        "public-knowledge-secret-32-bytes!",
        algorithm="HS256",
        headers={"kid": platform.key.kid},
    )
    return {"id_token": token, "state": answer.state}


def _alg_none(platform: TestPlatform, answer: LoginAnswer) -> dict[str, str]:
    token = jwt.encode(
        platform.moodle_claims(answer.nonce), None, algorithm="none", headers={"kid": platform.key.kid}
    )
    return {"id_token": token, "state": answer.state}


def _unknown_state(platform: TestPlatform, answer: LoginAnswer) -> dict[str, str]:
    return {"id_token": platform.key.sign(platform.moodle_claims(answer.nonce)), "state": "forged-state"}


def _no_state(platform: TestPlatform, answer: LoginAnswer) -> dict[str, str]:
    return {"id_token": platform.key.sign(platform.moodle_claims(answer.nonce))}


def _drop(name: str) -> Callable[[dict[str, Any], TestPlatform], None]:
    return lambda claims, _p: claims.pop(name)


CASES: dict[str, tuple[Forge, str, str]] = {
    # name: (forge, expected check in the log line, expected error code)
    "tampered payload": (_tampered, "signature", "lti_signature"),
    "signed by another key with the platform's kid": (_other_key_same_kid, "signature", "lti_signature"),
    "kid the platform never published": (_unknown_kid, "signature", "lti_unknown_kid"),
    "alg HS256": (_hs256, "alg", "lti_alg"),
    "alg none": (_alg_none, "alg", "lti_alg"),
    "unknown issuer": (_signed(lambda c, p: c.update(iss="http://evil.example")), "iss", "lti_iss"),
    "aud is another tool": (_signed(lambda c, p: c.update(aud="other-tool")), "aud", "lti_aud"),
    "aud list with us second, azp names the other": (
        _signed(lambda c, p: c.update(aud=["other-tool", p.client_id], azp="other-tool")),
        "aud",
        "lti_aud",
    ),
    "aud list with us first but no azp (pylti1p3 checks aud[0] only)": (
        _signed(lambda c, p: c.update(aud=[p.client_id, "other-tool"])),
        "azp",
        "lti_azp",
    ),
    "azp not among the audiences": (_signed(lambda c, p: c.update(azp="someone-else")), "azp", "lti_azp"),
    "expired": (
        _signed(lambda c, p: c.update(exp=int(time.time()) - 120, iat=int(time.time()) - 180)),
        "exp",
        "lti_exp",
    ),
    "no exp": (_signed(_drop("exp")), "exp", "lti_exp"),
    "issued in the future": (_signed(lambda c, p: c.update(iat=int(time.time()) + 600)), "iat", "lti_iat"),
    "nonce not the login's": (_signed(lambda c, p: c.update(nonce="another-nonce")), "nonce", "lti_nonce"),
    "state unknown": (_unknown_state, "state", "lti_state"),
    "state missing": (_no_state, "state", "lti_state"),
    "deployment unknown": (
        _signed(lambda c, p: c.update({LTI + "deployment_id": "99"})),
        "deployment_id",
        "lti_deployment",
    ),
    "message type unsupported": (
        _signed(lambda c, p: c.update({LTI + "message_type": "LtiSubmissionReviewRequest"})),
        "message_type",
        "lti_message_type",
    ),
    "version 1.1": (_signed(lambda c, p: c.update({LTI + "version": "1.1.0"})), "version", "lti_version"),
    "target_link_uri not the login's": (
        _signed(lambda c, p: c.update({LTI + "target_link_uri": "http://tool.test/lti/launch?other"})),
        "target_link_uri",
        "lti_target_link_uri",
    ),
    "roles claim missing": (_signed(_drop(LTI + "roles")), "roles", "lti_roles"),
    "no role this tool understands": (
        _signed(
            lambda c, p: c.update(
                {LTI + "roles": ["http://purl.imsglobal.org/vocab/lis/v2/membership#Guest"]}
            )
        ),
        "roles",
        "lti_roles",
    ),
    "resource link id missing": (_signed(_drop(LTI + "resource_link")), "claims", "lti_claims"),
    "no course context": (_signed(_drop(LTI + "context")), "claims", "lti_context"),
}


def _state_used(app: Any, state: str) -> bool:
    with app.extensions["db"].read() as session:
        row = session.scalars(select(OidcState).where(OidcState.state == state)).first()
        return row is not None and row.used_at is not None


@pytest.mark.parametrize("case", list(CASES))
def test_forged_launch_is_refused_and_writes_nothing(
    app: Any, platform: TestPlatform, case: str, caplog: pytest.LogCaptureFixture
) -> None:
    forge, check, code = CASES[case]
    client = app.test_client()
    answer = login(client, platform)
    before = row_counts(app.extensions["db"])
    caplog.set_level(logging.INFO, logger="lti_tool")
    response = client.post(
        "/lti/launch", data=forge(platform, answer), headers={"Accept": "application/json"}
    )
    assert 400 <= response.status_code < 500, response.get_data(as_text=True)
    assert response.json["error"]["code"] == code
    assert f"event=launch_refused check={check} code={code}" in caplog.text
    assert row_counts(app.extensions["db"]) == before
    assert not _state_used(app, answer.state)
    with client.session_transaction() as session:
        assert "actor" not in session


def test_refusal_page_names_the_check_for_people(app: Any, platform: TestPlatform) -> None:
    client = app.test_client()
    answer = login(client, platform)
    response = client.post("/lti/launch", data=_unknown_state(platform, answer))
    assert response.status_code == 400
    assert 'data-error-code="lti_state"' in response.get_data(as_text=True)


def test_aud_list_with_matching_azp_is_accepted(app: Any, platform: TestPlatform) -> None:
    client = app.test_client()
    answer = login(client, platform)
    claims = platform.moodle_claims(
        answer.nonce, aud=["other-tool", platform.client_id], azp=platform.client_id
    )
    response = client.post("/lti/launch", data={"id_token": platform.key.sign(claims), "state": answer.state})
    assert response.status_code == 303


@pytest.mark.parametrize("browser", ["same browser", "another browser"])
def test_replay_of_the_same_id_token_and_state_is_refused(
    app: Any, platform: TestPlatform, browser: str
) -> None:
    client = app.test_client()
    answer = login(client, platform)
    form = {"id_token": platform.key.sign(platform.moodle_claims(answer.nonce)), "state": answer.state}
    assert client.post("/lti/launch", data=form).status_code == 303
    before = row_counts(app.extensions["db"])
    replayer = client if browser == "same browser" else app.test_client()
    response = replayer.post("/lti/launch", data=form, headers={"Accept": "application/json"})
    assert response.status_code == 400 and response.json["error"]["code"] == "lti_replay"
    assert row_counts(app.extensions["db"]) == before


def test_same_nonce_with_a_fresh_state_is_refused(app: Any, platform: TestPlatform) -> None:
    """A captured id_token cannot be replayed against a new login either (nonce used once)."""
    client = app.test_client()
    first = login(client, platform)
    token = platform.key.sign(platform.moodle_claims(first.nonce))
    assert client.post("/lti/launch", data={"id_token": token, "state": first.state}).status_code == 303
    second = login(client, platform)
    response = client.post("/lti/launch", data={"id_token": token, "state": second.state})
    assert response.status_code == 400
    assert 'data-error-code="lti_replay"' in response.get_data(as_text=True)


def test_state_issued_for_one_deployment_refuses_another(app: Any, platform: TestPlatform) -> None:
    from lti_tool.lti.registrations import add_deployment

    add_deployment(app.extensions["db"], platform.issuer, platform.client_id, "2")
    client = app.test_client()
    answer = login(client, platform)  # lti_deployment_id "1"
    claims = platform.moodle_claims(answer.nonce, **{LTI + "deployment_id": "2"})
    response = client.post("/lti/launch", data={"id_token": platform.key.sign(claims), "state": answer.state})
    assert response.status_code == 400 and "lti_deployment" in response.get_data(as_text=True)


def test_removed_platform_is_refused_at_login_and_launch(app: Any, platform: TestPlatform) -> None:
    client = app.test_client()
    answer = login(client, platform)
    remove_platform(app.extensions["db"], platform.issuer, platform.client_id)
    token = platform.key.sign(platform.moodle_claims(answer.nonce))
    response = client.post("/lti/launch", data={"id_token": token, "state": answer.state})
    assert response.status_code == 400 and 'data-error-code="lti_iss"' in response.get_data(as_text=True)
    assert login(client, platform).status == 400


@pytest.mark.parametrize(
    ("override", "code"),
    [
        ({"iss": "http://unknown.example"}, "lti_unknown_platform"),
        ({"client_id": "not-registered"}, "lti_unknown_platform"),
        ({"lti_deployment_id": "42"}, "lti_unknown_deployment"),
        ({"target_link_uri": "https://evil.example/phish"}, "lti_target_link_uri"),
        ({"login_hint": ""}, "lti_login_missing_hint"),
    ],
)
def test_bad_login_initiation_is_refused(
    app: Any, platform: TestPlatform, override: dict[str, str], code: str
) -> None:
    response = app.test_client().post(
        "/lti/login", data=platform.login_form(**override), headers={"Accept": "application/json"}
    )
    assert response.status_code == 400 and response.json["error"]["code"] == code
    with app.extensions["db"].read() as session:
        assert session.scalars(select(OidcState)).first() is None

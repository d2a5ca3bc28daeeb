"""A launch's state and nonce are spent once, on SQLite and PostgreSQL alike: by concurrent launches with the
same id_token (one is accepted, the others refused as replays), and never by a refused launch (on
PostgreSQL the state is consumed in the statement that reads the registrations, before the signature is
checked: a refusal must roll that back, so the genuine launch that follows still works)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select

from lti_tool.db.lti_models import OidcState
from tests.lti_platform_helpers import LoginAnswer, PlatformKey, TestPlatform, login, row_counts
from tests.races import race

Forge = Callable[[TestPlatform, LoginAnswer], dict[str, str]]


@pytest.fixture
def app(registered_app: Any) -> Any:
    return registered_app


def _state_used(app: Any, state: str) -> bool:
    with app.extensions["db"].read() as session:
        row = session.scalars(select(OidcState).where(OidcState.state == state)).one()
        return row.used_at is not None


def _forged_signature(platform: TestPlatform, answer: LoginAnswer) -> dict[str, str]:
    impostor = PlatformKey(platform.key.kid)  # the platform's kid, another private key
    return {"id_token": impostor.sign(platform.moodle_claims(answer.nonce)), "state": answer.state}


def _expired(platform: TestPlatform, answer: LoginAnswer) -> dict[str, str]:
    claims = platform.moodle_claims(answer.nonce, exp=1_000_000_000, iat=999_999_000)
    return {"id_token": platform.key.sign(claims), "state": answer.state}


def _unknown_issuer(platform: TestPlatform, answer: LoginAnswer) -> dict[str, str]:
    claims = platform.moodle_claims(answer.nonce, iss="https://unknown.example")
    return {"id_token": platform.key.sign(claims), "state": answer.state}


def _wrong_nonce(platform: TestPlatform, answer: LoginAnswer) -> dict[str, str]:
    return {"id_token": platform.key.sign(platform.moodle_claims("not-the-nonce")), "state": answer.state}


@pytest.mark.parametrize(
    ("forge", "code"),
    [
        (_forged_signature, "lti_signature"),
        (_expired, "lti_exp"),
        (_unknown_issuer, "lti_iss"),
        (_wrong_nonce, "lti_nonce"),
    ],
)
def test_a_refused_launch_leaves_its_state_for_the_genuine_one(
    app: Any, platform: TestPlatform, forge: Forge, code: str
) -> None:
    client = app.test_client()
    answer = login(client, platform)
    before = row_counts(app.extensions["db"])
    refused = client.post("/lti/launch", data=forge(platform, answer), headers={"Accept": "application/json"})
    assert refused.status_code in (400, 401, 403) and refused.json["error"]["code"] == code
    assert row_counts(app.extensions["db"]) == before
    assert not _state_used(app, answer.state)
    genuine = {"id_token": platform.key.sign(platform.moodle_claims(answer.nonce)), "state": answer.state}
    assert client.post("/lti/launch", data=genuine).status_code in (200, 303)
    assert _state_used(app, answer.state)


def test_a_spent_state_is_refused_as_a_replay(app: Any, platform: TestPlatform) -> None:
    client = app.test_client()
    answer = login(client, platform)
    form = {"id_token": platform.key.sign(platform.moodle_claims(answer.nonce)), "state": answer.state}
    assert client.post("/lti/launch", data=form).status_code in (200, 303)
    replay = client.post("/lti/launch", data=form, headers={"Accept": "application/json"})
    assert replay.status_code == 400 and replay.json["error"]["code"] == "lti_replay"


@pytest.mark.parametrize("warm", [False, True])
def test_concurrent_launches_of_one_id_token_accept_exactly_one(
    app: Any, platform: TestPlatform, warm: bool
) -> None:
    """Six browsers post the same id_token and state at the same moment (the state cookie each carries is
    the login's): one launch is accepted, the others are refused as replays, one nonce is recorded. Cold,
    the key is fetched first and the launches race in transactions; warm (a launch before), on PostgreSQL
    they race in the one statement (``lti.launch_statement``)."""
    first = app.test_client()
    if warm:
        earlier = login(first, platform)
        token = platform.key.sign(platform.moodle_claims(earlier.nonce, sub="earlier"))
        assert first.post("/lti/launch", data={"id_token": token, "state": earlier.state}).status_code in (
            200,
            303,
        )
    answer = login(first, platform)
    cookie = first.get_cookie(f"lti1p3-state-{answer.state}", path="/lti/")
    assert cookie is not None
    form = {"id_token": platform.key.sign(platform.moodle_claims(answer.nonce)), "state": answer.state}
    clients = [first]
    for _ in range(5):
        other = app.test_client()
        other.set_cookie(cookie.key, cookie.value, path="/lti/")
        clients.append(other)
    app.test_client().get("/lti/config.json")  # warm: no first-request work inside the race

    def go(i: int) -> tuple[int, str | None]:
        response = clients[i].post("/lti/launch", data=form, headers={"Accept": "application/json"})
        return response.status_code, (response.json["error"]["code"] if response.status_code >= 400 else None)

    answers, errors = race(len(clients), go)
    assert not errors, errors
    accepted = [a for a in answers if a[0] in (200, 303)]
    assert len(answers) == len(clients) and len(accepted) == 1, answers
    assert all(a == (400, "lti_replay") for a in answers if a not in accepted), answers
    assert row_counts(app.extensions["db"])["used_nonces"] == 1 + warm

"""The OIDC login on PostgreSQL is one statement once its registration's authorization endpoint has passed
the URL policy in this process (the registrations query and the state's insert together, see
``lti.login._check_and_store``); on SQLite two, as before. Either way a login that fails any check writes
no state, including after the endpoint was approved: the statement inserts only when every check passes,
and an endpoint edited to an unsafe one is checked (and refused) afresh."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import event, func, select, update

from lti_tool.db.lti_models import OidcState
from lti_tool.db.models import Platform
from lti_tool.lti.registrations import save_platform
from tests.lti_platform_helpers import TestPlatform, login


@pytest.fixture
def app(registered_app: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    # A login purges old states now and then (1 in 100): not in the statements counted here.
    monkeypatch.setattr("lti_tool.lti.login.PURGE_PROBABILITY", 0.0)
    return registered_app


def _states(app: Any) -> list[OidcState]:
    with app.extensions["db"].read() as session:
        return list(session.scalars(select(OidcState).order_by(OidcState.id)))


def _statements(app: Any, client: Any, platform: TestPlatform) -> int:
    db = app.extensions["db"]
    count = {"n": 0}

    def counted(*_args: Any) -> None:
        count["n"] += 1

    engines = {db.engine, db.read_engine, db.lazy_engine}
    for engine in engines:
        event.listen(engine, "before_cursor_execute", counted)
    try:
        assert login(client, platform).status == 302
    finally:
        for engine in engines:
            event.remove(engine, "before_cursor_execute", counted)
    return count["n"]


def test_a_warm_login_is_one_statement_on_postgresql_and_its_state_works(
    app: Any, platform: TestPlatform
) -> None:
    client = app.test_client()
    first = login(client, platform)  # the endpoint is checked, then approved (this process may know it)
    warm = _statements(app, client, platform)
    # SQLite: BEGIN IMMEDIATE, the registrations query, the insert.
    assert warm == (1 if app.extensions["db"].dialect == "postgresql" else 3)
    states = _states(app)
    assert [s.state for s in states][0] == first.state and len(states) == 2
    # The state the one statement wrote is the one the two statements write, column for column.
    a, b = states
    for column in (
        "platform_id",
        "deployment_id",
        "target_link_uri",
        "storage",
        "login_hint",
        "lti_message_hint",
    ):
        assert getattr(a, column) == getattr(b, column), column
    assert b.used_at is None and b.expires_at - b.created_at == a.expires_at - a.created_at
    # A state written by the one statement is accepted by the launch.
    answer = login(client, platform)
    token = platform.key.sign(platform.moodle_claims(answer.nonce))
    response = client.post("/lti/launch", data={"id_token": token, "state": answer.state})
    assert response.status_code in (200, 303), response.get_data(as_text=True)[:300]
    assert all(s.used_at is None for s in _states(app)[:2]) and _states(app)[2].used_at is not None


@pytest.mark.parametrize(
    ("change", "form", "code", "status"),
    [
        ("none", {"lti_deployment_id": "42"}, "lti_unknown_deployment", 400),
        ("none", {"client_id": "not-registered"}, "lti_unknown_platform", 400),
        ("second_registration", {"client_id": ""}, "lti_unknown_platform", 400),
        ("unsafe_endpoint", {}, "lti_platform_url", 403),
    ],
)
def test_after_approval_a_login_failing_a_check_writes_no_state(
    app: Any, platform: TestPlatform, change: str, form: dict[str, str], code: str, status: int
) -> None:
    client = app.test_client()
    assert login(client, platform).status == 302  # the endpoint is approved in this process now
    db = app.extensions["db"]
    if change == "second_registration":  # the issuer alone no longer names one registration
        save_platform(
            db,
            issuer=platform.issuer,
            client_id="another-client",
            auth_login_url=platform.issuer + "/mod/lti/auth.php",
            auth_token_url=platform.issuer + "/mod/lti/token.php",
            jwks_url=platform.jwks_url,
            deployment_ids=[platform.deployment_id],
            development=True,
        )
    if change == "unsafe_endpoint":  # edited by hand after the policy approved the old endpoint
        with db.transaction() as session:
            session.execute(
                update(Platform)
                .where(Platform.issuer == platform.issuer)
                .values(auth_login_url="javascript:alert(document.cookie)")
            )
    response = client.post(
        "/lti/login", data=platform.login_form(**form), headers={"Accept": "application/json"}
    )
    assert response.status_code == status and response.json["error"]["code"] == code
    assert "Location" not in response.headers
    with db.read() as session:
        assert session.scalar(select(func.count()).select_from(OidcState)) == 1  # the first login's only

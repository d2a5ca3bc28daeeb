"""On PostgreSQL a launch whose checks can all be made first is accepted in ONE autocommitted statement
(``lti.launch_statement``): the state consumed under every condition, the registration re-checked, and the
nonce, user, context, membership and placement written, or nothing. Whatever that statement does not accept
(a registration changed since this process cached it, a replay, a race: test_lti_launch_single_use races
it warm) goes down the transactional path, which refuses it as before and leaves the state for the genuine
launch. On SQLite every launch takes the transactional path."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete, event, select, update
from sqlalchemy.dialects import postgresql

from lti_tool.db.lti_models import OidcState
from lti_tool.db.models import Deployment, Platform
from lti_tool.lti.launch_statement import _ACCEPT
from tests.lti_platform_helpers import TestPlatform, login, row_counts

ROOT = Path(__file__).resolve().parents[2]
AGS = "https://purl.imsglobal.org/spec/lti-ags/claim/endpoint"
LTI = "https://purl.imsglobal.org/spec/lti/claim/"


@pytest.fixture
def app(registered_app: Any) -> Any:
    from lti_tool.services.course_maps import load_course_maps

    load_course_maps(registered_app.extensions["db"], [ROOT / "course_maps" / "learning-differences"])
    return registered_app


def _counting(app: Any) -> tuple[dict[str, list[str]], Any]:
    db = app.extensions["db"]
    seen: dict[str, list[str]] = {"sql": []}

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen["sql"].append(statement)

    engines = {db.engine, db.read_engine, db.lazy_engine}
    for engine in engines:
        event.listen(engine, "before_cursor_execute", record)

    def stop() -> None:
        for engine in engines:
            event.remove(engine, "before_cursor_execute", record)

    return seen, stop


def _launch(client: Any, platform: TestPlatform, **claims: Any) -> Any:
    """A learner's login and launch in a course following the Learning Differences map."""
    answer = login(client, platform)
    claims.setdefault(LTI + "custom", {"course_map": "learning-differences"})
    token = platform.key.sign(platform.moodle_claims(answer.nonce, **claims))
    return answer, client.post(
        "/lti/launch", data={"id_token": token, "state": answer.state}, headers={"Accept": "application/json"}
    )


def _state(app: Any, state: str) -> OidcState:
    with app.extensions["db"].read() as session:
        return session.scalars(select(OidcState).where(OidcState.state == state)).one()


def test_a_warm_learner_launch_writes_in_one_statement_on_postgresql(
    app: Any, platform: TestPlatform
) -> None:
    client = app.test_client()
    _answer, first = _launch(client, platform)  # the process learns the key and the registration
    assert first.status_code == 200
    answer = login(client, platform)
    claims = {LTI + "custom": {"course_map": "learning-differences"}}
    token = platform.key.sign(
        platform.moodle_claims(answer.nonce, sub="learner-2", name="Lee Learner", **claims)
    )
    seen, stop = _counting(app)  # the launch's statements only (a login may also purge old states)
    try:
        response = client.post("/lti/launch", data={"id_token": token, "state": answer.state})
    finally:
        stop()
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    launch_sql = seen["sql"]
    writes = [s for s in launch_sql if re.search(r"\b(INSERT|UPDATE)\b", s)]
    if app.extensions["db"].dialect == "postgresql":
        # One statement writes everything and reads what the page shows: no BEGIN, no COMMIT, no page read.
        assert len(launch_sql) == 1 and len(writes) == 1, launch_sql
        assert "UPDATE oidc_states SET used_at=" in writes[0] and "INSERT INTO used_nonces" in writes[0]
    else:
        assert len(writes) > 1  # the transactional path's separate statements
    state = _state(app, answer.state)
    assert state.used_at is not None
    assert row_counts(app.extensions["db"]) == {"users": 2, "contexts": 1, "memberships": 2, "used_nonces": 2}
    assert "Lee Learner" in response.get_data(as_text=True)
    # A course new to the tool, bound to its map by this very launch's statement: the page it answers with
    # sees that binding (the statement's own write), not the course as it was before.
    context = {"id": "course-new", "title": "New course", "type": ["CourseSection"]}
    _answer, fresh = _launch(client, platform, sub="learner-3", **{LTI + "context": context})
    assert fresh.status_code == 200, fresh.get_data(as_text=True)[:300]
    assert "Executive Function" in fresh.get_data(as_text=True)


@pytest.mark.parametrize(
    ("change", "code"),
    [("deactivated", "lti_iss"), ("client_id", "lti_aud"), ("deployment_removed", "lti_deployment")],
)
def test_a_registration_changed_after_it_was_cached_is_refused_and_writes_nothing(
    app: Any, platform: TestPlatform, change: str, code: str
) -> None:
    """The process still holds the registration; the database no longer agrees. The one statement checks
    the database, writes nothing, and the transactional path names the refusal."""
    client = app.test_client()
    assert _launch(client, platform)[1].status_code == 200  # cached now
    answer = login(client, platform)  # a login before the operator's change
    db = app.extensions["db"]
    with db.transaction() as session:
        if change == "deactivated":
            session.execute(update(Platform).values(active=False))
        elif change == "client_id":
            session.execute(update(Platform).values(client_id="another-client"))
        else:
            session.execute(delete(Deployment))
    before = row_counts(db)
    token = platform.key.sign(platform.moodle_claims(answer.nonce))
    refused = client.post(
        "/lti/launch", data={"id_token": token, "state": answer.state}, headers={"Accept": "application/json"}
    )
    assert refused.status_code in (400, 401, 403) and refused.json["error"]["code"] == code
    assert row_counts(db) == before
    assert _state(app, answer.state).used_at is None


@pytest.mark.parametrize(
    ("claims", "code"),
    [
        ({"nonce": "another-nonce"}, "lti_nonce"),
        ({LTI + "target_link_uri": "http://tool.test/lti/launch?elsewhere=1"}, "lti_target_link_uri"),
    ],
)
def test_a_launch_that_does_not_match_its_login_is_refused_and_leaves_the_state(
    app: Any, platform: TestPlatform, claims: dict[str, Any], code: str
) -> None:
    client = app.test_client()
    assert _launch(client, platform)[1].status_code == 200
    answer = login(client, platform)
    before = row_counts(app.extensions["db"])
    forged = {**platform.moodle_claims(answer.nonce), **claims}
    refused = client.post(
        "/lti/launch",
        data={"id_token": platform.key.sign(forged), "state": answer.state},
        headers={"Accept": "application/json"},
    )
    assert refused.status_code == 400 and refused.json["error"]["code"] == code
    assert row_counts(app.extensions["db"]) == before and _state(app, answer.state).used_at is None
    genuine = platform.key.sign(platform.moodle_claims(answer.nonce))
    assert client.post("/lti/launch", data={"id_token": genuine, "state": answer.state}).status_code == 200


def test_an_expired_login_is_refused_in_the_one_statement_as_in_the_transaction(
    app: Any, platform: TestPlatform
) -> None:
    client = app.test_client()
    assert _launch(client, platform)[1].status_code == 200
    answer = login(client, platform)
    with app.extensions["db"].transaction() as session:
        session.execute(
            update(OidcState)
            .where(OidcState.state == answer.state)
            .values(expires_at=OidcState.created_at)  # already past
        )
    token = platform.key.sign(platform.moodle_claims(answer.nonce))
    refused = client.post(
        "/lti/launch", data={"id_token": token, "state": answer.state}, headers={"Accept": "application/json"}
    )
    assert refused.status_code == 400 and refused.json["error"]["code"] == "lti_state_expired"
    assert _state(app, answer.state).used_at is None


def test_a_new_placement_offering_a_column_asks_for_it_once(app: Any, platform: TestPlatform) -> None:
    """The placement and its outbox message are written by the same statement as the launch."""
    from lti_tool.db.models import OutboxMessage
    from lti_tool.services.placements import TOPIC_PLACEMENT

    client = app.test_client()
    lineitem = platform.issuer + "/mod/lti/services.php/2/lineitems/9/lineitem?type_id=1"
    ags = {**platform.moodle_claims("x")[AGS], "lineitem": lineitem}
    custom = {"stack": "executive-function", "course_map": "learning-differences"}
    for _ in range(3):
        _answer, response = _launch(client, platform, **{AGS: ags, LTI + "custom": custom})
        assert response.status_code in (200, 303)
    with app.extensions["db"].read() as session:
        messages = list(session.scalars(select(OutboxMessage).where(OutboxMessage.topic == TOPIC_PLACEMENT)))
    assert [m.payload for m in messages] == [{"context_id": 1, "kind": "stack", "key": "executive-function"}]


def test_the_state_update_sets_only_used_at_whatever_the_parameters_are_named() -> None:
    """SQLAlchemy takes an execution parameter named like a column of an UPDATE as a value to SET: the
    launch's parameters must never rewrite the state's nonce, platform or expiry."""
    from datetime import UTC, datetime

    from lti_tool.services.launches import LaunchFacts, launch_write_params
    from lti_tool.services.placements import PlacementFacts

    now = datetime.now(UTC)
    facts = LaunchFacts(
        platform_id=1,
        deployment_pk=1,
        nonce="n",
        nonce_expires_at=now,
        sub="s",
        name="",
        email="",
        context_id="c",
        context_title="",
        context_label="",
        course_map=None,
        memberships_url=None,
        lineitems_url=None,
        roles=("learner",),
        placement=PlacementFacts("1", None, None, None, None),
    )
    keys = [*launch_write_params(facts, now), "s_state", "s_platform_id", "s_nonce", "s_client_id"]
    for statement in _ACCEPT.values():
        sql = str(statement.compile(dialect=postgresql.dialect(), column_keys=keys))
        sets = re.search(r"UPDATE oidc_states SET (.*?) WHERE", sql, re.S)
        assert sets is not None and sets.group(1) == "used_at=%(now)s::TIMESTAMP WITH TIME ZONE"


def test_a_learners_launch_reads_their_standing_in_its_statement_as_the_page_would(
    app: Any, platform: TestPlatform, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A learner with stacks started, submissions in several states and a grant: the standing the launch's
    statement read (after its own writes) is the one a read after it gives, and the page it answers with
    shows what /learn/ shows."""
    from decimal import Decimal

    from lti_tool.db.learner_standing import learner_standing
    from lti_tool.db.models import Context, CourseMapVersion, Grant, LearnerStackVersion, Submission, User
    from lti_tool.lti import accept as accept_module
    from lti_tool.lti import launch_statement

    client = app.test_client()
    assert _launch(client, platform)[1].status_code == 200
    db = app.extensions["db"]
    with db.transaction() as session:
        context = session.scalars(select(Context)).one()
        user = session.scalars(select(User)).one()
        version = session.scalars(select(CourseMapVersion)).first()
        assert version is not None and context.course_key == "learning-differences"
        common = {"context_id": context.id, "user_id": user.id, "course_key": context.course_key}
        session.add(LearnerStackVersion(**common, stack_key="executive-function", map_version_id=version.id))
        for key, state, attempt in (
            ("ef-foundations-of-practice", "earned", 1),
            ("ef-engaging-your-peers", "submitted", 2),
            ("lm-foundations-of-practice", "not_yet", 1),
        ):
            session.add(
                Submission(
                    **common, credential_key=key, map_version_id=version.id, state=state, attempt=attempt
                )
            )
        session.add(
            Grant(
                **common,
                kind="stack",
                target_key="working-memory",
                title="Working Memory",
                map_version_id=version.id,
                contact_hours=Decimal("10.00"),
                ceus=Decimal("1.0"),
            )
        )
        context_id, user_id = context.id, user.id

    seen: list[Any] = []
    accept = launch_statement.accept_in_one_statement

    def spy(*args: Any, **kwargs: Any) -> Any:
        seen.append(accept(*args, **kwargs))
        return seen[-1]

    monkeypatch.setattr(accept_module, "accept_in_one_statement", spy)
    _answer, launched = _launch(client, platform)
    assert launched.status_code == 200
    with db.read_connection() as conn:
        read_after = learner_standing(conn, context_id, user_id)
    if db.dialect == "postgresql":
        (accepted,) = seen
        assert accepted is not None
        standing = accepted[1].standing
        assert standing == read_after
        assert set(standing.submissions) == {
            "ef-foundations-of-practice",
            "ef-engaging-your-peers",
            "lm-foundations-of-practice",
        }
        assert [g.contact_hours for g in standing.grants] == [Decimal("10.00")]
    else:
        assert seen == [None]  # SQLite: the transactional path, whose page reads the standing itself

    def main(html: str) -> str:
        """The page's main content, without the script only a launch's answer has (lti-landed.js)."""
        content = html[html.index("<main") : html.index("</main>")]
        return re.sub(r"<script src=\"[^\"]*lti-landed\.js\"[^>]*></script>", "", content).strip()

    page = client.get("/learn/")
    assert page.status_code == 200
    assert main(launched.get_data(as_text=True)) == main(page.get_data(as_text=True))
    assert "Working Memory" in main(page.get_data(as_text=True))

"""Only course (context) roles give rights in a course: real signed launches and a real NRPS roster.

Canvas sends ``institution/person#Instructor`` for anyone who teaches anywhere, and ``#Administrator`` for
account admins; neither may make a learner an assessor or designer here. LMS administrators are designers
only when LMS_ADMINS_ARE_DESIGNERS is on.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from lti_tool.db import Database
from lti_tool.db.models import Membership, User
from lti_tool.services.roster import refresh_roster
from tests.integration import test_ags_fake_moodle
from tests.integration.test_ags_fake_moodle import FakeMoodle, seed_course
from tests.lti_platform_helpers import (
    LEARNER,
    LTI,
    TestPlatform,
    login,
    lti_app,
    row_counts,
)

INSTITUTION = "http://purl.imsglobal.org/vocab/lis/v2/institution/person#"
SYSTEM = "http://purl.imsglobal.org/vocab/lis/v2/system/person#"
MENTOR = "http://purl.imsglobal.org/vocab/lis/v2/membership#Mentor"

moodle = test_ags_fake_moodle.moodle  # a Moodle-shaped platform on 127.0.0.1, for the NRPS roster


def _app(database_url: str, tmp_path: Path, platform: TestPlatform, **extra: Any) -> Any:
    application = lti_app(database_url, tmp_path, **extra)
    platform.register(application.extensions["db"])
    return application


@pytest.fixture
def launch_app(database_url: str, tmp_path: Path, platform: TestPlatform) -> Iterator[Any]:
    application = _app(database_url, tmp_path, platform)
    yield application
    application.extensions["db"].dispose()


def _launch_with_roles(client: Any, platform: TestPlatform, roles: list[str]) -> Any:
    answer = login(client, platform)
    assert answer.status == 302, answer.body
    claims = platform.moodle_claims(answer.nonce, **{LTI + "roles": roles})
    token = platform.key.sign(claims)
    return client.post(
        "/lti/launch", data={"id_token": token, "state": answer.state}, headers={"Accept": "application/json"}
    )


def _actor(client: Any) -> dict[str, Any] | None:
    with client.session_transaction() as session:
        actor = session.get("actor")
    return dict(actor) if actor else None


def test_institution_instructor_who_is_a_learner_here_is_only_a_learner(
    launch_app: Any, platform: TestPlatform
) -> None:
    client = launch_app.test_client()
    response = _launch_with_roles(client, platform, [INSTITUTION + "Instructor", LEARNER, SYSTEM + "User"])
    assert response.status_code == 303 and response.headers["Location"] == "/learn/"
    actor = _actor(client)
    assert actor is not None and actor["roles"] == ["learner"]
    with launch_app.extensions["db"].read() as session:
        assert session.scalars(select(Membership.roles)).one() == ["learner"]
    assert client.get("/assess/").status_code == 403
    assert client.get("/assess/submissions/1").status_code == 403
    assert client.get("/design/").status_code == 403


@pytest.mark.parametrize(
    "roles",
    [
        [INSTITUTION + "Administrator"],
        [INSTITUTION + "Administrator", SYSTEM + "Administrator", SYSTEM + "SysAdmin"],
        [INSTITUTION + "Instructor", SYSTEM + "User"],
        [MENTOR],
        [MENTOR, INSTITUTION + "Instructor"],
    ],
)
def test_launch_without_a_course_role_is_refused(
    launch_app: Any, platform: TestPlatform, roles: list[str]
) -> None:
    client = launch_app.test_client()
    before = row_counts(launch_app.extensions["db"])
    response = _launch_with_roles(client, platform, roles)
    assert 400 <= response.status_code < 500, response.get_data(as_text=True)
    assert response.json["error"]["code"] == "lti_roles"
    assert _actor(client) is None
    assert row_counts(launch_app.extensions["db"]) == before
    assert client.get("/design/").status_code == 401
    assert client.get("/assess/").status_code == 401


def test_lms_admin_designs_only_when_the_setting_is_on(
    database_url: str, tmp_path: Path, platform: TestPlatform
) -> None:
    application = _app(database_url, tmp_path, platform, LMS_ADMINS_ARE_DESIGNERS="1")
    try:
        assert application.extensions["settings"].lms_admins_are_designers is True
        client = application.test_client()
        response = _launch_with_roles(client, platform, [INSTITUTION + "Administrator", SYSTEM + "User"])
        assert response.status_code == 303 and response.headers["Location"] == "/design/"
        actor = _actor(client)
        assert actor is not None and actor["roles"] == ["assessor", "designer"]
        # the setting does not promote institution instructors
        other = application.test_client()
        refused = _launch_with_roles(other, platform, [INSTITUTION + "Instructor"])
        assert 400 <= refused.status_code < 500 and refused.json["error"]["code"] == "lti_roles"
    finally:
        application.extensions["db"].dispose()


def _nrps_member(user_id: str, roles: list[str]) -> dict[str, object]:
    return {"status": "Active", "roles": roles, "user_id": user_id, "name": f"Person {user_id}"}


def _roster_roles(db: Database, context_id: int) -> dict[str, list[str]]:
    with db.read() as session:
        rows = session.execute(
            select(User.sub, Membership.roles)
            .join(Membership, Membership.user_id == User.id)
            .where(Membership.context_id == context_id)
        ).all()
    return {r.sub: list(r.roles) for r in rows}


ROSTER = [
    _nrps_member("10", [INSTITUTION + "Instructor", LEARNER]),
    _nrps_member("11", [MENTOR]),
    _nrps_member("12", [INSTITUTION + "Administrator"]),
    _nrps_member("13", ["http://purl.imsglobal.org/vocab/lis/v2/membership/Instructor#TeachingAssistant"]),
    _nrps_member("14", ["Instructor"]),
    _nrps_member("15", ["ContentDeveloper"]),
]


def test_nrps_roster_uses_the_same_rule(app: Any, db: Database, moodle: FakeMoodle) -> None:
    course = seed_course(db, moodle)
    moodle.members = list(ROSTER)
    with app.app_context():  # as the designer's "refresh roster" runs it
        refresh_roster(db, course.context_id)
    assert _roster_roles(db, course.context_id) == {
        "10": ["learner"],
        "11": [],
        "12": [],
        "13": ["assessor"],
        "14": ["assessor"],  # a teacher; editing rights come from the course's editors list
        "15": ["assessor", "designer"],
    }


def test_nrps_roster_makes_lms_admins_designers_when_the_setting_is_on(
    app: Any, db: Database, moodle: FakeMoodle, tmp_path: Path
) -> None:
    from lti_tool import create_app
    from tests.conftest import app_config

    # The roster source is registered at app start with that app's setting (the last app started wins).
    admin_app = create_app(
        app_config(app.extensions["settings"].database_url, tmp_path / "admins", LMS_ADMINS_ARE_DESIGNERS="1")
    )
    try:
        course = seed_course(db, moodle)
        moodle.members = list(ROSTER)
        with admin_app.app_context():
            refresh_roster(db, course.context_id)
        roles = _roster_roles(db, course.context_id)
        assert roles["12"] == ["assessor", "designer"] and roles["10"] == ["learner"] and roles["11"] == []
    finally:
        admin_app.extensions["db"].dispose()  # the next test's app registers its own roster source

"""The course designer's dashboard: choosing the course map, the mapping, learners from the roster."""

from __future__ import annotations

import re

import pytest
from flask import Flask

from lti_tool.db import Database
from lti_tool.services import evidence
from tests import factories

CRED = "ef-foundations-of-practice"


def _text(html: bytes) -> str:
    return re.sub(r"\s+", " ", html.decode())


def test_designer_binds_a_course_map_then_sees_mapping_and_learners(app: Flask) -> None:
    db: Database = app.extensions["db"]
    course_map = factories.load_shipped_map(db)
    course = factories.course(db, course_key=None)
    designer = course.designer()
    waiting = course.learner("Wes Waiting")  # on the roster, never opened the tool
    busy = course.learner("Bo Busy")
    client = app.test_client()
    factories.sign_in(client, designer)

    page = _text(client.get("/design/").data)
    assert "No course map is chosen for this course yet." in page
    assert '<option value="learning-differences"' in page
    assert "3 stacks, 15 micro-credentials" in page

    # learners see a friendly page until then
    learner_client = app.test_client()
    factories.sign_in(learner_client, busy)
    waiting_page = learner_client.get("/learn/")
    assert waiting_page.status_code == 200 and "This course is not set up yet" in _text(waiting_page.data)

    bound = client.post("/design/course-map", data={"course_key": "learning-differences"})
    assert bound.status_code == 303
    page = _text(client.get(bound.headers["Location"]).data)
    assert "The course is now linked to the chosen course map." in page
    assert "Linked to <strong>Learning Differences</strong>" in page
    hint = "Add the tool to a unit with 'Select content' (LTI Deep Linking) to place a stack or credential"
    assert hint in page
    for unit in course_map.units:
        assert f"{unit.title} → {course_map.stack(unit.stack_id).title}" in page
    for credential in course_map.credentials:
        assert credential.title in page
    assert "Review queue (0 waiting)" in page

    evidence.save_draft(db, busy.context_id, busy.user_id, CRED, {"research": "started"}, {})
    page = _text(client.get("/design/").data)
    rows = dict(re.findall(r'<tr data-learner="(\d+)">(.*?)</tr>', page))
    assert 'class="state not_started">not started' in rows[str(waiting.user_id)]
    assert 'class="state in_progress">in progress' in rows[str(busy.user_id)]
    assert "0 of 3" in rows[str(busy.user_id)]
    assert str(designer.user_id) not in rows  # staff are not learners
    per_credential = dict(re.findall(r'<tr data-credential="([a-z0-9-]+)">(.*?)</tr>', page))
    assert "<td>1</td>" in per_credential[CRED]


def test_course_can_be_moved_to_another_map(app: Flask) -> None:
    db: Database = app.extensions["db"]
    factories.load_shipped_map(db)
    factories.load_shipped_map(db, factories.REPO_ROOT / "course_maps" / "global-graduates")
    course = factories.course(db)
    client = app.test_client()
    factories.sign_in(client, course.designer())
    page = _text(client.get("/design/").data)
    assert "Change the course map" in page
    assert re.search(r'<option value="learning-differences" selected>', page)
    # Changing the map of a bound course asks first (tests/integration/test_first_launch.py covers the page).
    asked = client.post("/design/course-map", data={"course_key": "global-graduates"})
    assert asked.status_code == 200 and "Change the course map?" in _text(asked.data)
    response = client.post(
        "/design/course-map",
        data={"course_key": "global-graduates", "expected": "learning-differences", "confirm": "yes"},
    )
    assert response.status_code == 303
    assert re.search(r'<option value="global-graduates" selected>', _text(client.get("/design/").data))
    unknown = client.post("/design/course-map", data={"course_key": "no-such-map"})
    assert unknown.status_code == 404
    assert "No course map &#39;no-such-map&#39; is loaded." in _text(unknown.data)


def test_roster_refresh_without_nrps_says_what_to_do(app: Flask) -> None:
    db: Database = app.extensions["db"]
    factories.load_shipped_map(db)
    course = factories.course(db)
    client = app.test_client()
    factories.sign_in(client, course.designer())
    assert "The LMS has not offered its roster for this course" in _text(client.get("/design/").data)
    response = client.post("/design/roster/refresh")
    assert response.status_code == 400
    assert "did not offer its roster service (NRPS)" in _text(response.data)


def test_roster_refresh_adds_learners_who_never_launched(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    from lti_tool.db.models import Context
    from lti_tool.services import roster

    db: Database = app.extensions["db"]
    factories.load_shipped_map(db)
    course = factories.course(db)
    with db.transaction() as session:
        context = session.get(Context, course.context_id)
        assert context is not None
        context.memberships_url = "https://lms.example.edu/api/lti/courses/7/names_and_roles"
    asked: list[str] = []

    def members(_db: Database, _platform_id: int, url: str) -> list[roster.RosterMember]:
        asked.append(url)
        return [
            roster.RosterMember("nrps-1", ("learner",), name="Nia Roster", email="nia@school.example"),
            roster.RosterMember("nrps-2", ("assessor", "designer"), name="Ivan Teacher"),
        ]

    monkeypatch.setattr(roster, "_source", [members])
    client = app.test_client()
    factories.sign_in(client, course.designer())
    refreshed = client.post("/design/roster/refresh")
    assert refreshed.status_code == 303  # Post/Redirect/Get: reloading the page does not refresh again
    page = _text(client.get(refreshed.headers["Location"]).data)
    assert asked == ["https://lms.example.edu/api/lti/courses/7/names_and_roles"]
    assert "Roster refreshed from the LMS: 2 member(s), 2 new" in page
    rows = re.findall(r'<tr data-learner="\d+">(.*?)</tr>', page)
    assert len(rows) == 1  # the instructor is not a learner
    assert "Nia Roster" in rows[0] and "nia@school.example" in rows[0] and "not started" in rows[0]

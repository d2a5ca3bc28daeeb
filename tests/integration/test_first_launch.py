"""A new course as its teachers meet it (issue 9), with Moodle 4.5-shaped launches that carry no custom
parameters of ours (Dynamic Registration sets none): the first learner and assessor launches into a course
with no course map, the teacher's first Deep Linking launch (choose the map, then place, no double-counted
grades), launches that never rebind a course, changing the map with a confirmation, and JSON errors only
for API clients. Every test runs on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
from sqlalchemy import select

from lti_tool.db.models import AuditEvent, Context
from lti_tool.services.progress import course_dashboard, learner_overview
from tests import factories
from tests.integration.test_lti_dev_platform import Browser, _press, parse
from tests.lti_platform_helpers import (
    INSTRUCTOR,
    LTI,
    TEACHING_ASSISTANT,
    TestPlatform,
    login,
    lti_app,
)

CONTENT_ITEMS = "https://purl.imsglobal.org/spec/lti-dl/claim/content_items"
LD, GG = "learning-differences", "global-graduates"
EF = "executive-function"
MOODLE_DIALOG_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,*/*;q=0.8"


@pytest.fixture
def app(database_url: str, tmp_path: Path, platform: TestPlatform) -> Iterator[Any]:
    application = lti_app(database_url, tmp_path)
    platform.register(application.extensions["db"])
    db = application.extensions["db"]
    factories.load_shipped_map(db)
    factories.load_shipped_map(db, factories.REPO_ROOT / "course_maps" / GG)
    yield application
    db.dispose()


def _text(response: Any) -> str:
    return re.sub(r"\s+", " ", response.get_data(as_text=True))


def _launch(client: Any, platform: TestPlatform, build: Any, **login_overrides: str) -> Any:
    answer = login(client, platform, **login_overrides)
    assert answer.status == 302, answer.body
    return client.post(
        "/lti/launch", data={"id_token": platform.key.sign(build(answer.nonce)), "state": answer.state}
    )


def _learner(platform: TestPlatform, custom: dict[str, str] | None = None) -> Any:
    def build(nonce: str) -> dict[str, Any]:
        claims = platform.moodle_claims(nonce)
        if custom is not None:
            claims[LTI + "custom"] = {**claims[LTI + "custom"], **custom}
        return claims

    return build


def _context(app: Any) -> Context:
    with app.extensions["db"].read() as session:
        context: Context = session.scalars(select(Context)).one()
        session.expunge(context)
        return context


def _audit(app: Any, action: str) -> list[AuditEvent]:
    with app.extensions["db"].read() as session:
        return list(session.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def _items(answer: Any, app: Any) -> list[dict[str, Any]]:
    assert answer.status_code == 200, _text(answer)[:1500]
    token = re.search(r'name="JWT" value="([^"]+)"', answer.get_data(as_text=True))
    assert token
    items: list[dict[str, Any]] = jwt.decode(token.group(1), options={"verify_signature": False})[
        CONTENT_ITEMS
    ]
    return items


# --- 1. the first learner and assessor launches into a course with no course map ---------------------


def test_learners_first_launch_into_an_unbound_course_is_a_friendly_page(
    app: Any, platform: TestPlatform
) -> None:
    client = app.test_client()
    launched = _launch(client, platform, platform.moodle_claims)
    assert launched.status_code == 303 and launched.headers["Location"] == "/learn/"
    assert _context(app).course_key is None
    for path in ("/learn/", f"/learn/stacks/{EF}", "/learn/credentials/ef-foundations-of-practice"):
        page = client.get(path)
        assert page.status_code == 200, path
        assert page.mimetype == "text/html"
        text = _text(page)
        assert "This course is not set up yet" in text and "ask your teacher" in text
        assert 'data-error-code="course_not_configured"' in text
        assert "409" not in text and "conflict" not in text.lower()
    saved = client.post("/learn/credentials/ef-foundations-of-practice", data={"answer-x": "words"})
    assert saved.status_code == 200 and "This course is not set up yet" in _text(saved)
    # An API client still gets the stable JSON error.
    api = client.get("/learn/", headers={"Accept": "application/json"})
    assert api.status_code == 409 and api.json["error"]["code"] == "course_not_configured"


def test_assessors_first_launch_into_an_unbound_course_is_a_friendly_page(
    app: Any, platform: TestPlatform
) -> None:
    client = app.test_client()
    launched = _launch(
        client, platform, lambda n: platform.moodle_claims(n, role=TEACHING_ASSISTANT, sub="7")
    )
    assert launched.status_code == 303 and launched.headers["Location"] == "/assess/"
    page = client.get("/assess/", headers={"Accept": MOODLE_DIALOG_ACCEPT})
    assert page.status_code == 200
    text = _text(page)
    assert "This course is not set up yet" in text and "no evidence to review yet" in text


# --- 2. the teacher's first Deep Linking launch: choose the map, then place ----------------------------


def test_first_deep_linking_launch_chooses_the_map_then_places(app: Any, platform: TestPlatform) -> None:
    client = app.test_client()
    launched = _launch(client, platform, platform.moodle_deep_linking_claims)
    assert launched.status_code == 303 and launched.headers["Location"] == "/lti/deep-link"
    picker = client.get("/lti/deep-link", headers={"Accept": MOODLE_DIALOG_ACCEPT})
    assert picker.status_code == 200
    text = _text(picker)
    assert 'data-step="choose-map"' in text and "which course map does this course follow?" in text
    # the loaded maps, each with its stacks
    for title in ("Learning Differences", "Global Graduates", "Executive Function", "Working Memory"):
        assert title in text
    assert f'name="course_key" value="{LD}"' in text and f'name="course_key" value="{GG}"' in text

    # Submitted without a choice: the same step again, the message tied to the field.
    empty = client.post("/lti/deep-link/course-map", data={})
    assert empty.status_code == 400 and empty.mimetype == "text/html"
    text = _text(empty)
    assert 'aria-describedby="course-map-error"' in text and 'id="course-map-error"' in text
    assert "Choose the course map this course follows" in text and 'name="course_key"' in text
    assert _context(app).course_key is None

    bound = client.post("/lti/deep-link/course-map", data={"course_key": LD})
    assert bound.status_code == 303 and urlsplit(bound.headers["Location"]).path == "/lti/deep-link"
    assert _context(app).course_key == LD
    (event,) = _audit(app, "context.course_map_bound")
    assert event.data == {"course_map": LD, "previous": None} and event.actor_user_id is not None

    place = client.get(bound.headers["Location"])
    assert place.status_code == 200
    text = _text(place)
    assert 'data-step="place"' in text and "The course now follows this course map" in text
    # credentials grouped under their stacks
    groups = dict(
        re.findall(r'<fieldset class="stack-group" data-stack="([a-z0-9-]+)">(.*?)</fieldset>', text)
    )
    assert set(groups) == {EF, "learner-motivation", "working-memory"}
    assert 'value="credential:ef-foundations-of-practice"' in groups[EF]
    assert 'value="credential:ef-foundations-of-practice"' not in groups["working-memory"]
    assert f'name="grading-{EF}" value="stack" checked' in groups[EF]  # no double count by default
    assert "would count the same work twice" in text

    # Nothing picked: the picker again, with a message at the list.
    empty = client.post("/lti/deep-link", data={f"grading-{EF}": "stack"})
    assert empty.status_code == 400
    text = _text(empty)
    assert 'aria-describedby="picker-error"' in text and "Nothing is selected yet" in text
    assert 'name="item"' in text

    other = "credential:wm-foundations-of-practice"  # in a stack that is not placed
    items = _items(
        client.post(
            "/lti/deep-link",
            data={"item": [f"stack:{EF}", "credential:ef-foundations-of-practice", other]},
        ),
        app,
    )
    assert [i["custom"] for i in items] == [
        {"stack": EF, "course_map": LD},
        {"credential": "ef-foundations-of-practice", "course_map": LD, "gradebook": "none"},
        {"credential": other.split(":", 1)[1], "course_map": LD},
    ]
    assert items[0]["lineItem"]["resourceId"] == f"stack:{EF}"
    assert "lineItem" not in items[1]  # its stack is graded: the same work is not counted twice
    assert items[2]["lineItem"]["resourceId"] == other  # its stack is not placed: graded


def test_grading_each_credential_leaves_the_stack_without_a_column(app: Any, platform: TestPlatform) -> None:
    client = app.test_client()
    _launch(client, platform, platform.moodle_deep_linking_claims)
    client.post("/lti/deep-link/course-map", data={"course_key": LD})
    # A second Deep Linking launch in the bound course goes straight to the placement.
    client2 = app.test_client()
    launched = _launch(client2, platform, platform.moodle_deep_linking_claims)
    page = client2.get(launched.headers["Location"])
    assert 'data-step="place"' in _text(page) and 'data-step="choose-map"' not in _text(page)
    items = _items(
        client2.post(
            "/lti/deep-link",
            data={
                "item": [f"stack:{EF}", "credential:ef-foundations-of-practice"],
                f"grading-{EF}": "credentials",
            },
        ),
        app,
    )
    assert "lineItem" not in items[0]
    assert items[1]["lineItem"]["resourceId"] == "credential:ef-foundations-of-practice"


def test_the_map_step_keeps_the_tokens_without_cookies(
    database_url: str, tmp_path: Path, platform: TestPlatform
) -> None:
    """An LMS iframe without third-party cookies: dl and lt travel through the map step (CSRF on)."""
    app = lti_app(database_url, tmp_path, WTF_CSRF_ENABLED=True)
    try:
        platform.register(app.extensions["db"])
        factories.load_shipped_map(app.extensions["db"])
        client = app.test_client(use_cookies=False)
        answer = login(client, platform, lti_storage_target="_parent")
        token = platform.key.sign(platform.moodle_deep_linking_claims(answer.nonce))
        check = client.post("/lti/launch", data={"id_token": token, "state": answer.state})
        form = next(f for f in parse(check.get_data(as_text=True)).forms if f.action.endswith("/lti/launch"))
        launched = client.post("/lti/launch", data=form.fields)
        assert launched.status_code == 303, _text(launched)[:1000]
        query = parse_qs(urlsplit(launched.headers["Location"]).query)
        assert "dl" in query and "lt" in query
        picker = client.get(launched.headers["Location"])
        assert 'data-step="choose-map"' in _text(picker)
        form = parse(picker.get_data(as_text=True)).forms[0]
        assert form.fields["dl"] == query["dl"][0] and form.fields["lt"] and "lt=" in form.action
        action = urlsplit(form.action)
        bound = client.post(action.path, query_string=action.query, data={**form.fields, "course_key": LD})
        assert bound.status_code == 303, _text(bound)[:1000]
        back = parse_qs(urlsplit(bound.headers["Location"]).query)
        assert back["dl"] == query["dl"] and back["lt"]
        place = client.get(bound.headers["Location"])
        form = parse(place.get_data(as_text=True)).forms[0]
        action = urlsplit(form.action)
        answer_page = client.post(
            action.path, query_string=action.query, data={**form.fields, "item": f"stack:{EF}"}
        )
        assert _items(answer_page, app)[0]["custom"] == {"stack": EF, "course_map": LD}
    finally:
        app.extensions["db"].dispose()


# --- 3. a placement's course_map binds only an unbound course ----------------------------------------


def test_course_map_parameter_binds_only_an_unbound_course_and_warns_designers(
    app: Any, platform: TestPlatform
) -> None:
    client = app.test_client()
    _launch(client, platform, _learner(platform, {"course_map": LD}))
    assert _context(app).course_key == LD  # unbound: the placement's parameter binds it

    _launch(client, platform, _learner(platform, {"course_map": GG}))
    context = _context(app)
    assert context.course_key == LD  # never rebound by a launch
    assert context.disagreeing_course_map == GG and context.disagreeing_course_map_at is not None
    _launch(client, platform, _learner(platform, {"course_map": "no-such-map"}))
    assert _context(app).disagreeing_course_map == GG  # only loaded maps count
    _launch(client, platform, platform.moodle_claims)  # no parameter: nothing changes
    assert (_context(app).course_key, _context(app).disagreeing_course_map) == (LD, GG)
    assert _audit(app, "context.course_map_bound") == []

    # The teacher who places content ("Select content") edits the course; they see it on their page.
    designer = app.test_client()
    assert _launch(designer, platform, platform.moodle_deep_linking_claims).status_code == 303
    teacher = _launch(designer, platform, lambda n: platform.moodle_claims(n, role=INSTRUCTOR))
    assert teacher.status_code == 303
    page = _text(designer.get("/design/"))
    assert 'data-warning="course-map-disagreement"' in page
    assert "asks for <strong>Global Graduates</strong>" in page and f"course_map={GG}" in page
    assert "Nothing was changed" in page

    kept = designer.post("/design/course-map/warning/dismiss")
    assert kept.status_code == 303
    assert 'data-warning="course-map-disagreement"' not in _text(designer.get(kept.headers["Location"]))
    assert _context(app).disagreeing_course_map is None and _context(app).course_key == LD
    (event,) = _audit(app, "context.course_map_warning_dismissed")
    assert event.data == {"course_map": LD, "placement_asked_for": GG}


def test_dev_platform_launches_never_rebind_the_course(database_url: str, tmp_path: Path) -> None:
    from lti_tool import create_app
    from tests.conftest import app_config

    app = create_app(app_config(database_url, tmp_path, DEV_PLATFORM="1"))
    try:
        db = app.extensions["db"]
        browser = Browser(app.test_client())
        # "Select content" first: the teacher who places content edits the course (and the dev course,
        # unbound, is bound by the placement's course_map).
        assert _press(browser, "Try deep linking").status_code == 200
        assert _context(app).course_key == LD
        assert _press(browser, "Launch as course designer").status_code == 200
        factories.load_shipped_map(db, factories.REPO_ROOT / "course_maps" / GG)
        moved = browser.go("POST", "/design/course-map", {"course_key": GG, "expected": LD, "confirm": "yes"})
        assert moved.status_code == 200 and _context(app).course_key == GG
        for button in ("Launch as learner", "Launch as course designer"):
            assert _press(browser, button).status_code == 200
            assert _context(app).course_key == GG
        assert 'data-warning="course-map-disagreement"' in _text(browser.go("GET", "/design/"))
    finally:
        app.extensions["db"].dispose()


# --- 4. changing the map: confirmation, audit, progress for the new map -------------------------------


def test_changing_the_map_asks_first_and_progress_follows_the_new_map(app: Any) -> None:
    db = app.extensions["db"]
    ld = factories.load_shipped_map(db)
    course = factories.course(db, course_key=LD)
    learner, assessor, designer = course.learner("Lena Learner"), course.assessor(), course.designer()
    for cid in ld.stack(EF).credential_ids:
        factories.earn(db, learner, assessor, ld.credential(cid))
    learner_client, client = app.test_client(), app.test_client()
    factories.sign_in(learner_client, learner)
    factories.sign_in(client, designer)
    assert "CEUs granted so far: <strong>1.0</strong>" in _text(learner_client.get("/learn/"))

    asked = client.post("/design/course-map", data={"course_key": GG})
    assert asked.status_code == 200
    text = _text(asked)
    assert "Change the course map?" in text and "What changes for learners" in text
    assert "progress is then computed against <strong>Global Graduates</strong>" in text
    assert "CEUs and awards already granted stay granted" in text
    assert "1 learner(s) have grants under the current map" in text
    assert 'name="expected" value="learning-differences"' in text and 'name="confirm" value="yes"' in text
    with db.read() as session:
        assert session.get(Context, course.context_id).course_key == LD  # nothing changed yet

    done = client.post("/design/course-map", data={"course_key": GG, "expected": LD, "confirm": "yes"})
    assert done.status_code == 303
    with db.read() as session:
        assert session.get(Context, course.context_id).course_key == GG
    (event,) = _audit(app, "context.course_map_bound")
    assert event.data == {"course_map": GG, "previous": LD} and event.actor_user_id == designer.user_id

    # Progress is computed for the new map: the grant under the old map stays, but is not "complete" here.
    overview = learner_overview(db, course.context_id, learner.user_id)
    assert overview.course.id == GG and overview.total_ceus == 0
    assert all(s.grant is None and not s.complete for s in overview.stacks)
    (row,) = [r for r in course_dashboard(db, course.context_id).learners if r.user_id == learner.user_id]
    assert row.status != "complete" and row.ceus == 0 and row.stacks_complete == 0
    assert "CEUs granted so far: <strong>0</strong>" in _text(learner_client.get("/learn/"))
    rows = dict(re.findall(r'<tr data-learner="(\d+)">(.*?)</tr>', _text(client.get("/design/"))))
    assert 'class="state complete"' not in rows[str(learner.user_id)]
    assert "0 of 1" in rows[str(learner.user_id)]

    # A confirmation made against a binding that changed since: nothing changes, the page says why.
    stale = client.post("/design/course-map", data={"course_key": LD, "expected": LD, "confirm": "yes"})
    assert stale.status_code == 409 and "Meanwhile someone else changed" in _text(stale)
    with db.read() as session:
        assert session.get(Context, course.context_id).course_key == GG


# --- 5. pages answer HTML, API clients JSON -----------------------------------------------------------


@pytest.mark.parametrize(
    ("accept", "path", "json_expected"),
    [
        (None, "/no-such-page", False),
        ("*/*", "/no-such-page", False),
        (MOODLE_DIALOG_ACCEPT, "/no-such-page", False),
        ("text/html, application/json", "/no-such-page", False),
        ("application/json", "/no-such-page", True),
        ("application/json, text/plain, */*", "/no-such-page", True),
        (None, "/api/no-such-thing", True),
    ],
)
def test_browsers_get_pages_and_api_clients_json(
    sqlite_app: Any, accept: str | None, path: str, json_expected: bool
) -> None:
    headers = {"Accept": accept} if accept is not None else {}
    response = sqlite_app.test_client().get(path, headers=headers)
    assert response.status_code == 404
    assert (response.mimetype == "application/json") is json_expected
    if not json_expected:
        assert response.mimetype == "text/html"


def test_deep_linking_errors_are_pages_in_the_dialog(app: Any, platform: TestPlatform) -> None:
    """Moodle's dialog or a client with no Accept header: refusals in the picker are pages, not JSON."""
    client = app.test_client()
    _launch(client, platform, platform.moodle_deep_linking_claims)  # the teacher edits the course
    _launch(client, platform, lambda n: platform.moodle_claims(n, role=INSTRUCTOR))  # no Deep Linking request
    for headers in ({}, {"Accept": "*/*"}, {"Accept": MOODLE_DIALOG_ACCEPT}):
        refused = client.get("/lti/deep-link", headers=headers)
        assert refused.status_code == 400 and refused.mimetype == "text/html"
        assert "Select content" in _text(refused)

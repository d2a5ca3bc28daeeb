"""Who may see what: roles per audience, one course never shows another's evidence, CSRF on forms."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from flask import Flask

from lti_tool import create_app
from lti_tool.db import Database
from lti_tool.services import artifacts, evidence
from lti_tool.storage import FileStore
from lti_tool.web.auth import Actor
from tests import factories
from tests.conftest import app_config

CRED = "ef-foundations-of-practice"


def test_anonymous_visitors_are_told_to_launch_from_the_course(sqlite_app: Flask) -> None:
    client = sqlite_app.test_client()
    for path in ("/learn/", "/assess/", "/design/"):
        response = client.get(path)
        assert response.status_code == 401
        assert "Open this tool from your course" in response.data.decode()


def test_each_audience_has_its_own_pages(sqlite_app: Flask) -> None:
    db: Database = sqlite_app.extensions["db"]
    factories.load_shipped_map(db)
    course = factories.course(db)
    learner, assessor = course.learner(), course.assessor()
    client = sqlite_app.test_client()

    factories.sign_in(client, learner)
    assert client.get("/learn/").status_code == 200
    assert client.get("/assess/").status_code == 403
    assert client.get("/assess/submissions/1").status_code == 403
    assert client.post("/assess/submissions/1", data={"feedback": "x"}).status_code == 403
    assert client.get("/design/").status_code == 403

    factories.sign_in(client, assessor)
    assert client.get("/assess/").status_code == 200
    assert client.get("/learn/").status_code == 403
    assert client.post(f"/learn/credentials/{CRED}", data={"action": "save"}).status_code == 403
    # a teacher who is not an editor sees the course dashboard read-only, and changes nothing there
    dashboard = client.get("/design/").get_data(as_text=True)
    assert "data-read-only" in dashboard and 'action="/design/course-map"' not in dashboard
    assert client.post("/design/course-map", data={"course_key": "learning-differences"}).status_code == 403


def _upload(app: Flask, learner: Actor, content: bytes) -> int:
    store = FileStore(app.extensions["settings"].upload_dir)
    view = artifacts.add_file_artifact(
        app.extensions["db"], store, learner.context_id, learner.user_id, CRED, "student-work",
        "work.txt", "text/plain", io.BytesIO(content), 1024,
    )  # fmt: skip
    return view.artifacts[-1].id


def test_a_course_never_shows_another_courses_evidence(app: Flask) -> None:
    db: Database = app.extensions["db"]
    credential = factories.load_shipped_map(db).credential(CRED)
    course_a, course_b = factories.course(db, title="Course A"), factories.course(db, title="Course B")
    assessor_a, learner_a, other_a = course_a.assessor(), course_a.learner("Ann"), course_a.learner("Ola")
    learner_b = course_b.learner("Bea")

    a_artifact = _upload(app, learner_a, b"A's work")
    b_artifact = _upload(app, learner_b, b"B's work")
    factories.complete_evidence(db, learner_b, credential)
    b_view = evidence.submit(db, learner_b.context_id, learner_b.user_id, CRED)
    assert b_view.id is not None

    client = app.test_client()
    factories.sign_in(client, assessor_a)
    assert f'data-submission="{b_view.id}"' not in client.get("/assess/").data.decode()
    assert client.get(f"/assess/submissions/{b_view.id}").status_code == 404
    scores = {f"score-{c.id}": c.passing_level for c in credential.rubric.criteria}
    assert client.post(f"/assess/submissions/{b_view.id}", data=scores).status_code == 404
    assert (
        evidence.open_submission(db, learner_b.context_id, learner_b.user_id, CRED).state.value == "submitted"
    )
    assert client.get(f"/learn/artifacts/{b_artifact}").status_code == 404
    assert client.get(f"/learn/artifacts/{a_artifact}").data == b"A's work"  # same course: allowed

    # a learner sees their own files only, even within the course
    factories.sign_in(client, other_a)
    assert client.get(f"/learn/artifacts/{a_artifact}").status_code == 404
    factories.sign_in(client, learner_b)
    assert client.get(f"/learn/artifacts/{a_artifact}").status_code == 404
    assert client.get(f"/learn/artifacts/{b_artifact}").data == b"B's work"
    factories.sign_in(client, learner_a)
    assert client.get(f"/learn/artifacts/{a_artifact}").status_code == 200


@pytest.fixture
def csrf_app(sqlite_url: str, tmp_path: Path):  # type: ignore[no-untyped-def]
    application = create_app(app_config(sqlite_url, tmp_path, WTF_CSRF_ENABLED=True))
    yield application
    application.extensions["db"].dispose()


def test_forms_need_the_csrf_token(csrf_app: Flask) -> None:
    db: Database = csrf_app.extensions["db"]
    factories.load_shipped_map(db)
    course = factories.course(db)
    learner = course.learner()
    client = csrf_app.test_client()
    factories.sign_in(client, learner)

    forged = client.post(f"/learn/credentials/{CRED}", data={"action": "save", "answer-research": "forged"})
    assert forged.status_code == 400
    assert "CSRF" in forged.data.decode()
    assert evidence.open_submission(db, learner.context_id, learner.user_id, CRED).id is None

    page = client.get(f"/learn/credentials/{CRED}").data.decode()
    tokens = set(re.findall(r'name="csrf_token" value="([^"]+)"', page))
    assert len(tokens) == 1  # every form on the page carries it
    ok = client.post(
        f"/learn/credentials/{CRED}",
        data={"action": "save", "answer-research": "mine", "csrf_token": tokens.pop()},
    )
    assert ok.status_code == 303
    assert evidence.open_submission(db, learner.context_id, learner.user_id, CRED).answers == {
        "research": "mine"
    }


def test_pages_work_without_cookies_by_carrying_the_launch_token(sqlite_app: Flask) -> None:
    """LMS iframes whose browser blocks third-party cookies: every link, form and redirect keeps ``lt``."""
    from lti_tool.web import auth

    db: Database = sqlite_app.extensions["db"]
    factories.load_shipped_map(db)
    learner = factories.course(db).learner()
    with sqlite_app.test_request_context():
        token = auth.sign_in(learner)
    client = sqlite_app.test_client(use_cookies=False)

    page = client.get(f"/learn/credentials/{CRED}?lt={token}").data.decode()
    # Every page re-signs the token (a sliding idle limit): links and forms carry the page's fresh one.
    fresh = re.search(r'name="lt" value="([^"]+)"', page)
    assert fresh, page[:500]
    token = fresh.group(1)
    assert f"/learn/?lt={token}" in page  # navigation
    actions = re.findall(r'action="([^"]+)"', page)
    assert actions and all(f"lt={token}" in a for a in actions)  # every form posts it back

    saved = client.post(
        f"/learn/credentials/{CRED}?lt={token}", data={"action": "save", "answer-research": "from an iframe"}
    )
    assert saved.status_code == 303
    assert "lt=" in saved.headers["Location"]
    assert "from an iframe</textarea>" in client.get(saved.headers["Location"]).data.decode()
    assert client.get(f"/learn/credentials/{CRED}").status_code == 401  # no token, no cookie: no session

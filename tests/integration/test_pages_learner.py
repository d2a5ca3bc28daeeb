"""The learner's pages through Flask's test client: progress, drafts, uploads, submitting."""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from lti_tool import create_app
from lti_tool.db import Database
from lti_tool.domain.definitions import CourseMap, Credential
from lti_tool.services import evidence
from lti_tool.web.auth import Actor
from tests import factories
from tests.conftest import app_config

CRED = "ef-foundations-of-practice"


@dataclass
class Scene:
    app: Flask
    db: Database
    client: FlaskClient
    course: factories.CourseFixture
    course_map: CourseMap
    learner: Actor

    @property
    def credential(self) -> Credential:
        return self.course_map.credential(CRED)


def _scene(app: Flask) -> Scene:
    db: Database = app.extensions["db"]
    course_map = factories.load_shipped_map(db)
    course = factories.course(db)
    learner = course.learner("Lena Learner")
    client = app.test_client()
    factories.sign_in(client, learner)
    return Scene(app, db, client, course, course_map, learner)


@pytest.fixture
def scene(app: Flask) -> Scene:
    return _scene(app)


def _text(html: bytes) -> str:
    return re.sub(r"\s+", " ", html.decode())


def test_progress_page_shows_every_stack_and_the_ceu_rule(scene: Scene) -> None:
    response = scene.client.get("/learn/")
    assert response.status_code == 200
    page = _text(response.data)
    for title in ("Executive Function", "Learner Motivation", "Working Memory"):
        assert title in page
    assert page.count("0 of 5</strong> earned") == 3
    assert "only when its rule, shown with the stack, is met in full: <em>every</em> micro-credential" in page
    assert "rule-role" not in page  # no required/elective tags where every credential is required
    assert "not started" in page
    assert "1.0 CEU (10 contact hours) when all 5 micro-credentials of this stack are earned" in page


def test_stack_page_and_unknown_stack(scene: Scene) -> None:
    page = _text(scene.client.get("/learn/stacks/executive-function").data)
    assert "Foundations of Practice in Executive Function" in page
    assert "Unit 1: Executive Function" in page
    assert scene.client.get("/learn/stacks/nope").status_code == 404


def test_course_without_map_shows_a_friendly_page(app: Flask) -> None:
    db: Database = app.extensions["db"]
    course = factories.course(db, course_key=None)
    client = app.test_client()
    factories.sign_in(client, course.learner())
    response = client.get("/learn/")
    assert response.status_code == 200
    assert "This course is not set up yet" in _text(response.data)
    assert "ask your teacher" in _text(response.data)


def test_evidence_page_describes_the_credential(scene: Scene) -> None:
    page = _text(scene.client.get(f"/learn/credentials/{CRED}").data)
    cred = scene.credential
    assert cred.competency.split(",")[0] in page
    assert "Key method" in page and "Method components" in page
    for q in cred.requirements.overview_questions:
        assert f'name="answer-{q.id}"' in page
    for r in cred.requirements.reflection_prompts:
        assert f'name="reflection-{r.id}"' in page
    # one upload/link form per artifact requirement, each stating the limit
    assert page.count('class="add-artifact"') == len(cred.requirements.artifacts)
    assert "up to <strong>50 MB</strong>" in page
    assert scene.client.get("/learn/credentials/no-such-credential").status_code == 404


def test_save_draft_keeps_the_answers(scene: Scene) -> None:
    response = scene.client.post(
        f"/learn/credentials/{CRED}",
        data={
            "action": "save",
            "answer-research": "Executive function is planning.",
            "reflection-surprise": "Much",
        },
    )
    assert response.status_code == 303
    page = _text(scene.client.get(response.headers["Location"]).data)
    assert "Draft saved." in page
    assert "Executive function is planning.</textarea>" in page
    assert "Much</textarea>" in page
    assert 'class="state draft"' in page


def test_upload_a_file_and_a_link_then_remove_one(scene: Scene) -> None:
    response = scene.client.post(
        f"/learn/credentials/{CRED}/artifacts",
        data={
            "requirement_id": "student-work",
            "label": "Exit tickets",
            "file": (io.BytesIO(b"%PDF-1.4 work"), "work.pdf"),
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 303
    scene.client.post(
        f"/learn/credentials/{CRED}/artifacts",
        data={
            "requirement_id": "learner-profiles",
            "label": "Profile A",
            "url": "https://docs.example/profile-a",
        },
    )
    view = evidence.open_submission(scene.db, scene.learner.context_id, scene.learner.user_id, CRED)
    labels = {a.label: a for a in view.artifacts}
    assert set(labels) == {"Exit tickets", "Profile A"}
    page = _text(scene.client.get(f"/learn/credentials/{CRED}?notice=artifact_added").data)
    assert "Artifact added." in page and "work.pdf" in page and "https://docs.example/profile-a" in page

    download = scene.client.get(f"/learn/artifacts/{labels['Exit tickets'].id}")
    assert download.status_code == 200
    assert download.data == b"%PDF-1.4 work"
    # recognised as a PDF by its content: shown in the browser, never sniffed as anything else
    assert download.mimetype == "application/pdf"
    assert download.headers["Content-Disposition"].startswith("inline")
    assert download.headers["X-Content-Type-Options"] == "nosniff"

    removed = scene.client.post(f"/learn/credentials/{CRED}/artifacts/{labels['Profile A'].id}/remove")
    assert removed.status_code == 303
    view = evidence.open_submission(scene.db, scene.learner.context_id, scene.learner.user_id, CRED)
    assert [a.label for a in view.artifacts] == ["Exit tickets"]


def test_bad_link_is_refused_with_the_reason(scene: Scene) -> None:
    response = scene.client.post(
        f"/learn/credentials/{CRED}/artifacts",
        data={"requirement_id": "student-work", "url": "javascript:alert(1)"},
    )
    assert response.status_code == 400
    assert "Links must be full http(s) addresses" in _text(response.data)


def test_incomplete_submission_lists_what_is_missing_and_keeps_everything(scene: Scene) -> None:
    typed = "Executive function helps students <plan> & organise."
    response = scene.client.post(
        f"/learn/credentials/{CRED}",
        data={"action": "submit", "answer-research": typed, "reflection-next-step": "Try checklists first."},
    )
    assert response.status_code == 422
    page = _text(response.data)
    assert "Some required evidence is missing." in page
    assert "needs at least 100 words" in page  # the research answer is too short
    assert "Answer the overview question: Describe your classroom" in page
    assert "Add at least 2 artifact(s)" in page
    assert "Executive function helps students &lt;plan&gt; &amp; organise.</textarea>" in page
    assert "Try checklists first.</textarea>" in page
    # and the typed text was saved as a draft
    view = evidence.open_submission(scene.db, scene.learner.context_id, scene.learner.user_id, CRED)
    assert view.answers["research"] == typed
    assert view.state.value == "draft"


def test_complete_submission_becomes_read_only(scene: Scene) -> None:
    factories.complete_evidence(scene.db, scene.learner, scene.credential)
    answers, reflections = factories.complete_texts(scene.credential)
    form = {"action": "submit"}
    form.update({f"answer-{k}": v for k, v in answers.items()})
    form.update({f"reflection-{k}": v for k, v in reflections.items()})
    response = scene.client.post(f"/learn/credentials/{CRED}", data=form)
    assert response.status_code == 303
    page = _text(scene.client.get(response.headers["Location"]).data)
    assert "Submitted for review." in page
    assert 'class="state submitted"' in page
    assert "<textarea" not in page
    assert "Submit for review</button>" not in page
    # the progress page shows it too
    assert 'class="state submitted"' in _text(scene.client.get("/learn/").data)
    # a second submit is a clear conflict, not a crash
    again = scene.client.post(f"/learn/credentials/{CRED}", data=form)
    assert again.status_code == 409
    assert "waiting for an assessor" in _text(again.data)


@pytest.mark.parametrize("where", ["request_limit", "request_limit_with_csrf", "service_limit"])
def test_oversized_upload_is_refused_and_the_draft_is_intact(
    sqlite_url: str, tmp_path: Path, where: str
) -> None:
    extra: dict[str, object] = {"MAX_UPLOAD_MB": 1}
    if where == "request_limit_with_csrf":
        extra["WTF_CSRF_ENABLED"] = True  # the CSRF check reads the refused body first
    if where == "service_limit":
        extra["MAX_CONTENT_LENGTH"] = None  # only add_file_artifact's own limit applies
    app = create_app(app_config(sqlite_url, tmp_path, **extra))
    try:
        scene = _scene(app)
        evidence.save_draft(
            scene.db,
            scene.learner.context_id,
            scene.learner.user_id,
            CRED,
            {"research": "My saved draft"},
            {},
        )
        big = io.BytesIO(b"x" * (1024 * 1024 + 10))
        response = scene.client.post(
            f"/learn/credentials/{CRED}/artifacts",
            data={"requirement_id": "student-work", "label": "Video", "file": (big, "lesson.mp4")},
            content_type="multipart/form-data",
        )
        assert response.status_code == 413
        page = _text(response.data)
        assert "larger than the 1 MB limit. Nothing was saved" in page
        assert "My saved draft</textarea>" in page  # still on the evidence page, with the draft
        view = evidence.open_submission(scene.db, scene.learner.context_id, scene.learner.user_id, CRED)
        assert view.artifacts == []
        assert view.answers == {"research": "My saved draft"}
        leftovers = [p for p in (tmp_path / "instance" / "uploads").rglob("*") if p.is_file()]
        assert leftovers == []
    finally:
        app.extensions["db"].dispose()

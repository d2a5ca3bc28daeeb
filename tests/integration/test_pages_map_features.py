"""A second course map through the pages: word limits (``max_words``), a video-link-only requirement, a
file-only requirement, and a "2 required + choose 1 of 3" stack stated as such on every page.

The map is tests/maps/video-coaching; learners, assessors and designers use Flask's test client.
"""

from __future__ import annotations

import html
import io
import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from lti_tool.db import Database
from lti_tool.domain.definitions import ArtifactInput, CourseMap, Credential
from lti_tool.services import assessment, evidence
from lti_tool.web.auth import Actor
from tests import factories

VIDEO_COACHING = Path(__file__).resolve().parents[1] / "maps" / "video-coaching"
RECORDING = "recording-a-lesson"  # required; a video link only, a lesson plan as a file only, word limits
REVIEWING = "reviewing-with-a-rubric"  # required
PEER = "peer-observation"  # an elective
RULE = "the 2 required micro-credentials of this stack are earned, plus any 1 of its 3 electives"
PDF = b"%PDF-1.4 lesson plan\n"


@dataclass
class Scene:
    app: Flask
    db: Database
    client: FlaskClient
    course: factories.CourseFixture
    course_map: CourseMap
    learner: Actor

    def credential(self, key: str) -> Credential:
        return self.course_map.credential(key)

    def page(self, path: str) -> str:
        response = self.client.get(path)
        assert response.status_code == 200, path
        return _text(response.data)

    def view(self, key: str) -> evidence.SubmissionView:
        return evidence.open_submission(self.db, self.learner.context_id, self.learner.user_id, key)


@pytest.fixture
def scene(app: Flask) -> Scene:
    db: Database = app.extensions["db"]
    course_map = factories.load_shipped_map(db, VIDEO_COACHING)
    course = factories.course(db, course_key=course_map.id, title="Video Coaching (Fall)")
    learner = course.learner("Lena Learner")
    client = app.test_client()
    factories.sign_in(client, learner)
    return Scene(app, db, client, course, course_map, learner)


def _text(html: bytes) -> str:
    return re.sub(r"\s+", " ", html.decode())


def _words(n: int) -> str:
    return " ".join(["word"] * n)


def _complete(scene: Scene, key: str) -> None:
    """Every requirement of ``key`` met through the pages, in the form each artifact takes; submitted."""
    credential = scene.credential(key)
    answers, reflections = factories.complete_texts(credential)
    for req in credential.requirements.artifacts:
        if ArtifactInput.FILE in req.accepts and ArtifactInput.LINK not in req.accepts:
            data = {"requirement_id": req.id, "file": (io.BytesIO(PDF), "plan.pdf")}
        elif ArtifactInput.LINK in req.accepts:
            data = {"requirement_id": req.id, "url": f"https://docs.example/{key}/{req.id}"}
        else:
            data = {"requirement_id": req.id, "url": "https://vimeo.com/76979871"}
        added = scene.client.post(f"/learn/credentials/{key}/artifacts", data=data)
        assert added.status_code == 303, _text(added.data)
    form = {"action": "submit"}
    form.update({f"answer-{k}": v for k, v in answers.items()})
    form.update({f"reflection-{k}": v for k, v in reflections.items()})
    submitted = scene.client.post(f"/learn/credentials/{key}", data=form)
    assert submitted.status_code == 303, _text(submitted.data)


def _earn(scene: Scene, assessor: Actor, key: str) -> None:
    _complete(scene, key)
    view = scene.view(key)
    assert view.id is not None
    assessment.decide(
        scene.db,
        scene.learner.context_id,
        view.id,
        assessor.user_id,
        factories.passing_scores(scene.credential(key)),
        "",
    )


# --- the stack's rule, on the learner's, the designer's and the assessor's pages -------------------------


def test_learner_pages_state_required_and_electives(scene: Scene) -> None:
    home = scene.page("/learn/")
    assert f"0.5 CEU (5 contact hours) when {RULE}." in home
    assert "0 of 3</strong> earned" in home
    assert (
        "All of the <strong>required</strong> micro-credentials, plus any 1 of the <strong>electives</strong>"
        in home
    )
    assert home.count('<span class="rule-role required">required</span>') == 2
    assert home.count('<span class="rule-role elective">elective</span>') == 3
    assert "when all 5" not in home and "every one of its micro-credentials" not in home
    stack = scene.page("/learn/stacks/video-coaching")
    assert f"CEUs for this stack are granted only when {RULE}." in stack
    row = re.search(r'<tr data-credential="peer-observation">.*?</tr>', stack)
    assert row is not None and "elective" in row.group(0)


def test_designer_and_assessor_pages_state_the_rule(scene: Scene) -> None:
    designer = scene.course.designer()
    _complete(scene, PEER)
    staff = scene.app.test_client()
    factories.sign_in(staff, designer)
    dashboard = _text(staff.get("/design/").data)
    assert f"0.5 CEU (5 contact hours) when {RULE}." in dashboard
    row = re.search(r'<tr data-credential="recording-a-lesson">.*?</tr>', dashboard)
    assert row is not None and '<span class="rule-role required">required</span>' in row.group(0)

    review = _text(staff.get(f"/assess/submissions/{scene.view(PEER).id}").data)
    assert (
        f"Counts towards <strong>Video Coaching</strong> as an elective: that stack is complete when {RULE}."
        in review
    )


def test_completing_the_required_and_one_elective_grants_the_stack(scene: Scene) -> None:
    assessor = scene.course.assessor()
    _earn(scene, assessor, RECORDING)
    _earn(scene, assessor, REVIEWING)
    home = scene.page("/learn/")
    assert "2 of 3</strong> earned" in home and "CEUs granted: <strong>" not in home
    _earn(scene, assessor, PEER)
    home = scene.page("/learn/")
    assert "3 of 3</strong> earned" in home
    assert "CEUs granted: <strong>0.5 CEU</strong> (5 contact hours)" in home


# --- word limits ----------------------------------------------------------------------------------------


def test_the_page_counts_words_against_the_limits(scene: Scene) -> None:
    evidence.save_draft(
        scene.db, scene.learner.context_id, scene.learner.user_id, RECORDING, {"setting": "Grade 5 maths"}, {}
    )
    page = scene.page(f"/learn/credentials/{RECORDING}")
    assert (
        'Overview question: Which class and lesson did you record? <span class="muted">(5 to 40 words)</span>'
        in page
    )
    assert 'data-min-words="5" data-max-words="40"' in page
    assert 'aria-describedby="answer-setting-count"' in page
    counter = re.search(r'<p class="word-count[^"]*" id="answer-setting-count".*?</p>', page)
    assert counter is not None
    assert '<span class="words">3</span> <span class="unit">words</span>' in counter.group(0)
    assert '<span class="limit">(5 to 40 words)</span>' in counter.group(0)
    assert 'id="reflection-first-look-count"' in page
    assert "<script src=" in page and "evidence.js" in page


def test_text_over_its_word_limit_is_refused_on_save_and_submit_and_nothing_is_lost(scene: Scene) -> None:
    evidence.save_draft(
        scene.db, scene.learner.context_id, scene.learner.user_id, RECORDING, {"setting": "Saved before"}, {}
    )
    long_answer, reflection = _words(45), "I noticed the pace."
    for action in ("save", "submit"):
        response = scene.client.post(
            f"/learn/credentials/{RECORDING}",
            data={"action": action, "answer-setting": long_answer, "reflection-first-look": reflection},
        )
        assert response.status_code == 422
        page = _text(response.data)
        assert "Nothing was saved: some text is longer than its word limit." in html.unescape(page)
        assert (
            "The answer to 'Which class and lesson did you record?' has 45 words; the limit is 40. "
            "Shorten it by 5 words." in html.unescape(page)
        )
        # everything typed is on the page again, the counter already shows the excess
        assert f"{long_answer}</textarea>" in page and f"{reflection}</textarea>" in page
        assert re.search(r'class="word-count muted small over-limit" id="answer-setting-count"', page)
        assert ": 5 over the limit" in page
        view = scene.view(RECORDING)
        assert view.answers == {"setting": "Saved before"} and view.reflections == {}
        assert view.state.value == "draft"
    within = scene.client.post(
        f"/learn/credentials/{RECORDING}",
        data={"action": "save", "answer-setting": _words(40), "reflection-first-look": reflection},
    )
    assert within.status_code == 303
    assert scene.view(RECORDING).answers == {"setting": _words(40)}


# --- what each artifact requirement accepts -------------------------------------------------------------


def _form(page: str, requirement: str) -> str:
    found = re.search(rf'<div class="requirement" data-requirement="{requirement}">.*?</form>', page)
    assert found is not None, requirement
    return found.group(0)


def test_the_page_offers_only_what_each_requirement_accepts(scene: Scene) -> None:
    page = scene.page(f"/learn/credentials/{RECORDING}")
    assert "Artifact (classroom video, as a video link): The video of the lesson" in page
    assert "Artifact (lesson plan, as an uploaded file): The lesson plan" in page
    video = _form(page, "lesson-video")
    assert 'type="file"' not in video
    assert "A link to the video</label>" in video and "data-video-only" in video
    assert 'data-video-domains="youtube.com youtu.be' in video and 'data-video-extensions="mp4 m4v' in video
    assert (
        "A video link: YouTube, Vimeo, Microsoft Stream, SharePoint or OneDrive, Google Drive, Kaltura"
        in video
    )
    assert "takes a video link" in video
    plan = _form(page, "lesson-plan")
    assert 'type="file"' in plan and 'type="url"' not in plan
    assert "takes an uploaded file" in plan


@pytest.mark.parametrize(
    ("requirement", "data", "status", "message"),
    [
        (
            "lesson-video",
            {"url": "https://docs.google.com/document/d/1abc/edit"},
            400,
            "This requirement takes a video: a link to YouTube, Vimeo",
        ),
        (
            "lesson-video",
            {"file": (b"\x00\x00\x00\x18ftypmp42", "lesson.mp4")},
            400,
            "This requirement takes a video link, not a file: paste the address of the video",
        ),
        (
            "lesson-plan",
            {"url": "https://docs.example/plan"},
            400,
            "This requirement takes an uploaded file, not a link: upload the file itself.",
        ),
    ],
)
def test_the_server_refuses_what_a_requirement_does_not_accept(
    scene: Scene, requirement: str, data: dict[str, object], status: int, message: str
) -> None:
    evidence.save_draft(
        scene.db, scene.learner.context_id, scene.learner.user_id, RECORDING, {"setting": "Kept draft"}, {}
    )
    form: dict[str, object] = {"requirement_id": requirement, "label": "Mine"}
    for key, value in data.items():  # a fresh stream for each run of the test
        form[key] = (io.BytesIO(value[0]), value[1]) if isinstance(value, tuple) else value
    response = scene.client.post(
        f"/learn/credentials/{RECORDING}/artifacts", data=form, content_type="multipart/form-data"
    )
    assert response.status_code == status
    page = _text(response.data)
    assert message in page
    assert "Kept draft</textarea>" in page
    assert scene.view(RECORDING).artifacts == []


def test_a_video_link_and_an_uploaded_plan_are_taken(scene: Scene) -> None:
    for data in (
        {"requirement_id": "lesson-video", "url": "https://youtu.be/dQw4w9WgXcQ"},
        {"requirement_id": "lesson-plan", "file": (io.BytesIO(PDF), "plan.pdf")},
    ):
        response = scene.client.post(
            f"/learn/credentials/{RECORDING}/artifacts", data=data, content_type="multipart/form-data"
        )
        assert response.status_code == 303, _text(response.data)
    artifacts = {a.requirement_id: a for a in scene.view(RECORDING).artifacts}
    assert artifacts["lesson-video"].url == "https://youtu.be/dQw4w9WgXcQ"
    assert artifacts["lesson-plan"].content_type == "application/pdf"

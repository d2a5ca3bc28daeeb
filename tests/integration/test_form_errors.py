"""Form errors tied to their fields: where a page shows a field's own message, the field says it is invalid
(``aria-invalid="true"``) and names the message (``aria-describedby``), so a screen reader announces it on
the field. The learner's evidence page (missing evidence, word limits), the records page's details, the
assessor's feedback, the designer's course map choice and the designer's map upload (each problem of a
refused map, file:line, stays listed beside the file input)."""

from __future__ import annotations

import html
import re
import shutil
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from lti_tool.domain.evidence import ArtifactRef, field_problems
from lti_tool.maps import validate_course_map
from lti_tool.maps.reader import read_course_map
from lti_tool.services import evidence, map_uploads
from tests import factories
from tests.integration.test_map_uploads import upload, zip_folder

CRED = "ef-foundations-of-practice"
VIDEO_COACHING = Path(__file__).resolve().parents[1] / "maps" / "video-coaching"
RECORDING = "recording-a-lesson"  # word limits, a video-link-only requirement


def _signed_in_learner(app: Flask) -> tuple[FlaskClient, factories.CourseFixture]:
    db = app.extensions["db"]
    factories.load_shipped_map(db)
    course = factories.course(db)
    client = app.test_client()
    factories.sign_in(client, course.learner())
    return client, course


def _field(page: str, field_id: str) -> str:
    tag = re.search(rf'<(?:textarea|input)[^>]*\bid="{re.escape(field_id)}"[^>]*>', page, re.S)
    assert tag, field_id
    return tag[0]


def _message(page: str, element_id: str) -> str:
    found = re.search(rf'<p class="field-error" id="{re.escape(element_id)}">([^<]*)</p>', page)
    assert found, element_id
    return html.unescape(found[1])


def _described_by(tag: str) -> list[str]:
    found = re.findall(r'aria-describedby="([^"]*)"', tag)
    assert len(found) == 1, f"one aria-describedby: {tag}"
    return found[0].split()


def test_a_refused_submission_ties_each_message_to_its_field(sqlite_app: Flask) -> None:
    client, _ = _signed_in_learner(sqlite_app)
    response = client.post(
        f"/learn/credentials/{CRED}",
        data={"action": "submit", "answer-research": "Too short.", "reflection-next-step": "Try checklists."},
    )
    assert response.status_code == 422
    page = response.get_data(as_text=True)

    short = _field(page, "answer-research")
    assert 'aria-invalid="true"' in short
    assert _described_by(short) == ["answer-research-error", "answer-research-count"]
    assert _message(page, "answer-research-error") == "2 words; at least 100 are needed."

    empty = _field(page, "answer-context")
    assert 'aria-invalid="true"' in empty and "answer-context-error" in _described_by(empty)
    assert _message(page, "answer-context-error") == "Answer this question."

    assert _message(page, "artifacts-student-work-error").startswith(
        "Add at least 2 artifact(s) here; 0 added"
    )
    assert "artifacts-student-work-error" in _described_by(_field(page, "file-student-work"))


def test_a_draft_over_its_word_limit_marks_only_that_field(sqlite_app: Flask) -> None:
    db = sqlite_app.extensions["db"]
    course_map = factories.load_shipped_map(db, VIDEO_COACHING)
    course = factories.course(db, course_key=course_map.id)
    client = sqlite_app.test_client()
    factories.sign_in(client, course.learner())
    response = client.post(
        f"/learn/credentials/{RECORDING}", data={"action": "save", "answer-setting": factories.words(43)}
    )
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    setting = _field(page, "answer-setting")
    assert 'aria-invalid="true"' in setting
    assert _described_by(setting) == ["answer-setting-error", "answer-setting-count"]
    assert _message(page, "answer-setting-error") == "43 words; the limit is 40: shorten it by 3 words."
    # A draft may be incomplete: the empty reflection is no error.
    assert page.count('class="field-error"') == 1
    assert 'aria-invalid="true"' not in _field(page, "reflection-first-look")
    # Submitted, the missing video link is tied to the link field; its own hint stays last (evidence.js).
    response = client.post(f"/learn/credentials/{RECORDING}", data={"action": "submit"})
    page = response.get_data(as_text=True)
    assert _described_by(_field(page, "url-lesson-video")) == [
        "artifacts-lesson-video-error",
        "video-lesson-video",
    ]


def test_a_page_without_errors_marks_no_field(sqlite_app: Flask) -> None:
    client, _ = _signed_in_learner(sqlite_app)
    page = client.get(f"/learn/credentials/{CRED}").get_data(as_text=True)
    assert 'aria-invalid="true"' not in page and 'class="field-error"' not in page
    assert _described_by(_field(page, "answer-research")) == ["answer-research-count"]


def test_the_records_page_ties_a_bad_state_to_its_field_and_keeps_the_hint(sqlite_app: Flask) -> None:
    client, _ = _signed_in_learner(sqlite_app)
    response = client.post(
        "/learn/records/profile",
        data={"legal_name": "Lena Learner", "state": "ZZ", "licence_number": "1", "confirm": "1"},
    )
    page = response.get_data(as_text=True)
    state = _field(page, "state")
    assert 'aria-invalid="true"' in state
    assert _described_by(state) == ["state-error", "state-hint"]
    assert _message(page, "state-error") == "Choose the state that issued your licence."
    assert 'aria-invalid="true"' not in _field(page, "legal_name")


def test_field_problems_names_each_field_once_and_only_what_a_draft_must_keep() -> None:
    course_map = read_course_map(factories.LEARNING_DIFFERENCES).course_map  # no database needed
    requirements = course_map.credential(CRED).requirements
    refs = [ArtifactRef("student-work", "one")]
    on_submit = field_problems(requirements, {"research": "a b"}, {}, refs, complete=True)
    assert on_submit["answer-research"].startswith("2 words; at least")
    assert on_submit["artifacts-student-work"] == "Add at least 2 artifact(s) here; 1 added."
    assert set(on_submit) >= {f"reflection-{r.id}" for r in requirements.reflection_prompts}
    assert field_problems(requirements, {"research": "a b"}, {}, refs, complete=False) == {}


def test_not_yet_without_feedback_ties_the_message_to_the_feedback_field(sqlite_app: Flask) -> None:
    db = sqlite_app.extensions["db"]
    course_map = factories.load_shipped_map(db)
    course = factories.course(db)
    learner, assessor = course.learner(), course.assessor()
    credential = course_map.credential(CRED)
    factories.complete_evidence(db, learner, credential)
    view = evidence.submit(db, learner.context_id, learner.user_id, CRED)
    client = sqlite_app.test_client()
    factories.sign_in(client, assessor)
    scores = {f"score-{k}": v for k, v in factories.failing_scores(credential).items()}
    response = client.post(f"/assess/submissions/{view.id}", data={**scores, "feedback": "  "})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    feedback = _field(page, "feedback")
    assert 'aria-invalid="true"' in feedback and _described_by(feedback) == ["feedback-error"]
    assert _message(page, "feedback-error") == "A 'not yet' decision needs feedback for the learner."
    # The choices were kept; other fields are not marked.
    assert page.count('aria-invalid="true"') == 1


def test_the_designer_forms_tie_their_refusal_to_the_select(sqlite_app: Flask) -> None:
    db = sqlite_app.extensions["db"]
    factories.load_shipped_map(db)
    course = factories.course(db, course_key=None)
    client = sqlite_app.test_client()
    factories.sign_in(client, course.designer())
    response = client.post("/design/course-map", data={"course_key": ""})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    choice = re.search(r'<select id="course_key"[^>]*>', page)
    assert choice and 'aria-invalid="true"' in choice[0] and _described_by(choice[0]) == ["form-error"]
    assert re.search(
        r'<p class="flash error" role="alert" data-error id="form-error">Choose a course map.</p>', page
    )


def _signed_in_designer(app: Flask) -> FlaskClient:
    db = app.extensions["db"]
    factories.load_shipped_map(db)
    course = factories.course(db)
    client = app.test_client()
    factories.sign_in(client, course.designer())
    return client


def _summary_leads_to(page: str, field_id: str) -> str:
    """The page's error summary (the alert at the top) links to the field; returns the summary's text."""
    summary = re.search(r'<div class="flash error" role="alert" data-error>(.*?)</div>', page, re.S)
    assert summary, "the page has an error summary"
    assert re.findall(r'href="#([^"]*)"', summary[1]) == [field_id]
    assert page.count(f'id="{field_id}"') == 1
    return html.unescape(re.sub(r"<[^>]+>|\s+", " ", summary[1]))


def _beside_the_file_input(page: str) -> None:
    """The message is the next thing after the upload form's row (input, its button), before the limits."""
    assert re.search(
        r'<input id="map-files"[^>]*>\s*<button type="submit">[^<]*</button>\s*</form>\s*'
        r'<p class="field-error" id="map-files-error">',
        page,
    ), "the message follows the file input"
    assert page.index('id="map-files-error"') < page.index('id="map-files-hint"')


def test_a_refused_map_upload_ties_its_message_and_every_map_problem_to_the_file_input(
    app: Flask, tmp_path: Path
) -> None:
    client = _signed_in_designer(app)
    broken = tmp_path / "learning-differences"
    shutil.copytree(factories.LEARNING_DIFFERENCES, broken)
    credential = broken / "credentials" / "ef-engaging-your-peers.yaml"
    credential.write_text(credential.read_text().replace("title: Engaging", "title: [Engaging", 1))
    course_yaml = broken / "course.yaml"
    course_yaml.write_text(course_yaml.read_text().replace("contact_hours: 10", "contact_hours: ten", 1))
    expected = [str(p).removeprefix(f"{tmp_path.as_posix()}/") for p in validate_course_map(broken)]
    assert len(expected) == 2
    assert any(
        e.startswith("learning-differences/credentials/ef-engaging-your-peers.yaml:6:") and "YAML syntax" in e
        for e in expected
    )

    response = upload(client, (zip_folder(broken), "broken.zip"))
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    files = _field(page, "map-files")
    assert 'aria-invalid="true"' in files
    assert _described_by(files) == ["map-files-error", "map-files-problems", "map-files-hint"]
    for element_id in _described_by(files):
        assert page.count(f'id="{element_id}"') == 1, element_id
    assert _message(page, "map-files-error") == (
        "The uploaded map has errors; nothing was kept. Fix them and upload again."
    )
    listed = re.search(r'<ul class="map-problems" id="map-files-problems">(.*?)</ul>', page, re.S)
    assert listed, "the map's problems are listed in the element the file input names"
    shown = [html.unescape(m) for m in re.findall(r"<li><code>(.*?)</code></li>", listed[1])]
    assert shown == expected  # every file:line:column message, each once on the page
    assert all(html.unescape(page).count(e) == 1 for e in expected)
    _beside_the_file_input(page)
    summary = _summary_leads_to(page, "map-files")
    assert "nothing was kept" in summary and "2 problems in the map" in summary
    assert page.count('aria-invalid="true"') == 1


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("course.yaml", None, "course.yaml is larger than 1 KB; a course map file is never that big."),
        ("m.zip", b"PK not really", "That file is not a zip archive."),
    ],
    ids=["too-large", "wrong-type"],
)
def test_a_refused_map_file_ties_its_message_to_the_file_input_and_keeps_the_hint(
    app: Flask, monkeypatch: pytest.MonkeyPatch, name: str, content: bytes | None, message: str
) -> None:
    client = _signed_in_designer(app)
    monkeypatch.setattr(map_uploads, "MAX_FILE_BYTES", 1024)
    data = content if content is not None else (factories.LEARNING_DIFFERENCES / name).read_bytes()
    response = upload(client, (data, name))
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    files = _field(page, "map-files")
    assert 'aria-invalid="true"' in files
    assert _described_by(files) == ["map-files-error", "map-files-hint"]
    assert _message(page, "map-files-error") == message
    assert 'id="map-files-problems"' not in page
    hint = re.search(r'<span id="map-files-hint">([^<]*)</span>', page)
    assert hint and "of 1 KB each" in hint[1]
    _beside_the_file_input(page)
    assert message in _summary_leads_to(page, "map-files")


def test_the_map_upload_form_without_an_error_marks_nothing(app: Flask) -> None:
    client = _signed_in_designer(app)
    page = client.get("/design/map-versions/").get_data(as_text=True)
    files = _field(page, "map-files")
    assert 'aria-invalid="true"' not in page and 'class="field-error"' not in page
    assert "data-error" not in page
    assert _described_by(files) == ["map-files-hint"]

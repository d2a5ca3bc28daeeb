"""In Chromium: a learner builds and submits evidence, an assessor says "not yet", the learner resubmits.

Everyone enters through a real LTI launch from the development platform.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from lti_tool.db.models import Context, User
from lti_tool.services import course_maps
from lti_tool.services.progress import bind_course
from tests.browser.conftest import UPLOAD_LIMIT_MB, LiveServer
from tests.factories import complete_texts

pytestmark = pytest.mark.browser

CRED = "ef-foundations-of-practice"
SCREENSHOT = Path("/tmp/evidence-page.png")


def launch(
    browser: Any, server: LiveServer, user_label: str, target: str = "", course: str = "learning-differences"
) -> Any:
    """A fresh browser profile, launched into the tool from the development platform's course for the map
    ``course``."""
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    page = context.new_page()
    page.goto(server.url + "/dev/platform/")
    section = page.locator(f'[data-course="{course}"]')
    if target:
        section.locator("select[name=target]").select_option(target)
    section.get_by_role("button", name=f"Launch as {user_label}").click()
    page.wait_for_url(re.compile(r"/(learn|assess|design)/"))
    return page


def fill_texts(page: Any, server: LiveServer, suffix: str = "") -> None:
    credential = course_maps.get_course_map(server.app.extensions["db"], "learning-differences").credential(
        CRED
    )
    answers, reflections = complete_texts(credential)
    for key, text in answers.items():
        page.fill(f"#answer-{key}", text + suffix)
    for key, text in reflections.items():
        page.fill(f"#reflection-{key}", text + suffix)


def add_file(page: Any, requirement: str, path: Path, label: str) -> None:
    form = page.locator(f'[data-requirement="{requirement}"] form.add-artifact')
    form.locator("input[name=label]").fill(label)
    form.locator("input[type=file]").set_input_files(str(path))
    form.get_by_role("button", name="Add artifact").click()
    page.wait_for_load_state()


def add_link(page: Any, requirement: str, url: str, label: str) -> None:
    form = page.locator(f'[data-requirement="{requirement}"] form.add-artifact')
    form.locator("input[name=label]").fill(label)
    form.locator("input[type=url]").fill(url)
    form.get_by_role("button", name="Add artifact").click()
    page.wait_for_load_state()


def test_submit_not_yet_resubmit(browser: Any, live_server: LiveServer, tmp_path: Path) -> None:
    learner = launch(browser, live_server, "learner (Lee Learner)", target=f"credential:{CRED}")
    assert learner.url.split("?")[0].endswith(f"/learn/credentials/{CRED}")
    assert "Foundations of Practice in Executive Function" in learner.inner_text("h1")

    # answers typed, then an artifact added through its own form: the typed text survives in this tab
    fill_texts(learner, live_server)
    work = tmp_path / "exit-tickets.txt"
    work.write_text("Exit ticket answers from period 3, names removed.\n")
    add_file(learner, "student-work", work, "Exit tickets")
    assert (
        learner.locator('[data-requirement="student-work"] .artifact-list')
        .inner_text()
        .startswith("Exit tickets")
    )
    assert learner.locator("#answer-research").input_value().startswith("observation")
    learner.get_by_role("button", name="Save draft").click()
    learner.wait_for_url(re.compile("notice=saved"))
    assert learner.get_by_role("status").first.inner_text() == "Draft saved."

    # submitting with evidence missing lists what is missing and keeps every field
    learner.get_by_role("button", name="Submit for review").click()
    learner.wait_for_load_state()
    alert = learner.locator("[data-error]")
    assert "Some required evidence is missing." in alert.inner_text()
    assert "Add at least 2 artifact(s)" in alert.inner_text()
    assert learner.locator("#reflection-surprise").input_value().startswith("reflection")

    sample = tmp_path / "second-sample.txt"
    sample.write_text("A second work sample.\n")
    add_file(learner, "student-work", sample, "Essay draft")
    add_link(learner, "learner-profiles", "https://docs.example/profile-a", "Profile A")
    add_link(learner, "learner-profiles", "https://docs.example/profile-b", "Profile B")
    learner.get_by_role("button", name="Submit for review").click()
    learner.wait_for_url(re.compile("notice=submitted"))
    assert learner.locator(".credential-head .state").inner_text() == "submitted"
    assert learner.locator("textarea").count() == 0

    # the assessor finds it in the queue and decides "not yet" with feedback
    assessor = launch(browser, live_server, "assessor (Ada Assessor)")
    assert assessor.url.split("?")[0].endswith("/assess/")
    row = assessor.locator("table.queue tbody tr", has_text="Foundations of Practice in Executive Function")
    assert "Lee Learner" in row.inner_text()
    row.get_by_role("link", name="Review").click()
    assessor.wait_for_url(re.compile(r"/assess/submissions/\d+"))
    assert "Exit tickets" in assessor.locator(".evidence").inner_text()
    criteria = assessor.locator("fieldset.criterion")
    for i in range(criteria.count()):
        level = "developing" if i == 0 else "proficient"
        criteria.nth(i).locator(f"input[value={level}]").check()
    assessor.get_by_role("button", name="Record decision").click()
    assessor.wait_for_load_state()
    assert (
        "A 'not yet' decision needs feedback for the learner."
        in assessor.locator("[data-error]").inner_text()
    )
    assert criteria.first.locator("input[value=developing]").is_checked()  # choices kept
    feedback = "Tie each profile to two dated classroom observations."
    assessor.fill("#feedback", feedback)
    assessor.get_by_role("button", name="Record decision").click()
    assessor.wait_for_load_state()
    assert "Not yet" in assessor.locator("h1").inner_text()

    # the learner sees the feedback, edits and resubmits
    learner.goto(learner.url.split("?")[0])
    panel = learner.locator(".not-yet-panel")
    assert feedback in panel.inner_text()
    assert "not yet met" in panel.inner_text()
    learner.screenshot(path=str(SCREENSHOT), full_page=True)
    fill_texts(learner, live_server, suffix=" with dated observations")
    learner.get_by_role("button", name="Resubmit").click()
    learner.wait_for_url(re.compile("notice=submitted"))
    assert learner.locator(".credential-head .state").inner_text() == "submitted"
    assert "attempt 2" in learner.locator(".credential-head").inner_text()

    assessor.goto(live_server.url + "/assess/")
    assert "resubmission" in assessor.locator("table.queue").inner_text()


def test_oversized_file_is_stopped_in_the_browser(
    browser: Any, live_server: LiveServer, tmp_path: Path
) -> None:
    learner = launch(browser, live_server, "learner (Lee Learner)", target=f"credential:{CRED}")
    learner.fill("#answer-research", "Typed but not yet saved.")
    big = tmp_path / "lesson.mp4"
    big.write_bytes(b"\0" * (UPLOAD_LIMIT_MB * 1024 * 1024 + 1))
    form = learner.locator('[data-requirement="student-work"] form.add-artifact')
    assert f"up to {UPLOAD_LIMIT_MB} MB" in form.inner_text()
    form.locator("input[type=file]").set_input_files(str(big))
    message = form.locator(".upload-error")
    assert "the limit is 1 MB" in message.inner_text()
    assert form.locator("input[type=file]").input_value() == ""
    form.get_by_role("button", name="Add artifact").click()  # nothing chosen now: the server says so
    learner.wait_for_load_state()
    assert "Choose a file to upload or paste a link." in learner.locator("[data-error]").inner_text()
    # the unsaved answer came back from this tab's storage
    assert learner.locator("#answer-research").input_value() == "Typed but not yet saved."
    assert "restored" in learner.locator(".restored").inner_text()


VIDEO_COACHING = Path(__file__).resolve().parents[1] / "maps" / "video-coaching"


def follow_video_coaching(server: LiveServer) -> None:
    """The development platform's course follows the Learning Differences map; this test's course follows
    tests/maps/video-coaching, bound as a course designer would."""
    db = server.app.extensions["db"]
    course_maps.load_course_maps(db, [VIDEO_COACHING])
    with db.read() as session:
        (context_id,) = session.scalars(select(Context.id)).all()
        designer = session.scalars(select(User.id)).first()
    assert designer is not None
    bind_course(db, context_id, "video-coaching", designer)


def test_live_word_count_and_a_video_link_requirement(browser: Any, live_server: LiveServer) -> None:
    learner = launch(browser, live_server, "learner (Lee Learner)")
    follow_video_coaching(live_server)
    learner.goto(live_server.url + "/learn/credentials/recording-a-lesson")
    assert learner.inner_text("h1") == "Recording a Lesson"

    # the word count follows the typing, against the map's limits (5 to 40 words)
    counter = learner.locator("#answer-setting-count")
    assert counter.inner_text() == "0 words (5 to 40 words)"
    learner.fill("#answer-setting", "Grade five maths")
    assert counter.inner_text() == "3 words (5 to 40 words)"
    long_answer = " ".join(["word"] * 45)
    learner.fill("#answer-setting", long_answer)
    assert counter.inner_text() == "45 words (5 to 40 words): 5 over the limit"
    assert "over-limit" in (counter.get_attribute("class") or "")
    assert learner.locator("#answer-setting").get_attribute("aria-invalid") == "true"

    # the video requirement takes a video link only: no file input, and a document link is stopped at once
    video = learner.locator('[data-requirement="lesson-video"] form.add-artifact')
    assert video.locator("input[type=file]").count() == 0
    assert "A video link: YouTube, Vimeo" in video.inner_text()
    video.locator("input[type=url]").fill("https://docs.google.com/document/d/1abc/edit")
    video.get_by_role("button", name="Add artifact").click()
    assert "That address is not a video link." in video.locator(".upload-error").inner_text()
    assert learner.url.endswith("/learn/credentials/recording-a-lesson")  # nothing was sent
    video.locator("input[type=url]").fill("https://youtu.be/dQw4w9WgXcQ")
    video.get_by_role("button", name="Add artifact").click()
    learner.wait_for_url(re.compile("notice=artifact_added"))
    listed = learner.locator('[data-requirement="lesson-video"] .artifact-list').inner_text()
    assert listed.startswith("https://youtu.be/dQw4w9WgXcQ")
    # the lesson plan takes an uploaded file only
    plan = learner.locator('[data-requirement="lesson-plan"] form.add-artifact')
    assert plan.locator("input[type=file]").count() == 1 and plan.locator("input[type=url]").count() == 0

    # the unsaved long answer came back from this tab, already counted; the server refuses it, keeping it
    assert learner.locator("#answer-setting").input_value() == long_answer
    assert counter.inner_text() == "45 words (5 to 40 words): 5 over the limit"
    learner.get_by_role("button", name="Save draft").click()
    learner.wait_for_load_state()
    alert = learner.locator("[data-error]").inner_text()
    assert "Nothing was saved: some text is longer than its word limit." in alert
    assert "has 45 words; the limit is 40. Shorten it by 5 words." in alert
    assert learner.locator("#answer-setting").input_value() == long_answer
    learner.fill("#answer-setting", "Grade five maths, fractions on a number line")
    assert counter.inner_text() == "8 words (5 to 40 words)"
    learner.get_by_role("button", name="Save draft").click()
    learner.wait_for_url(re.compile("notice=saved"))
    assert learner.locator("#answer-setting").input_value() == "Grade five maths, fractions on a number line"

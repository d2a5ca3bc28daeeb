"""Assessing through the pages: not yet with feedback, resubmission, earned, and a stack's CEUs."""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest
from flask import Flask
from flask.testing import FlaskClient

from lti_tool.db import Database
from lti_tool.domain.definitions import CourseMap, Credential
from lti_tool.services import evidence
from lti_tool.web.auth import Actor
from tests import factories

CRED = "ef-foundations-of-practice"


@dataclass
class Scene:
    db: Database
    course_map: CourseMap
    learner: Actor
    assessor: Actor
    learner_client: FlaskClient
    assessor_client: FlaskClient

    def credential(self, key: str = CRED) -> Credential:
        return self.course_map.credential(key)


@pytest.fixture
def scene(app: Flask) -> Scene:
    db: Database = app.extensions["db"]
    course_map = factories.load_shipped_map(db)
    course = factories.course(db)
    learner, assessor = course.learner("Lena Learner"), course.assessor("Asha Assessor")
    learner_client, assessor_client = app.test_client(), app.test_client()
    factories.sign_in(learner_client, learner)
    factories.sign_in(assessor_client, assessor)
    return Scene(db, course_map, learner, assessor, learner_client, assessor_client)


def _text(html: bytes) -> str:
    return re.sub(r"\s+", " ", html.decode())


def _submit(scene: Scene, key: str = CRED) -> int:
    factories.complete_evidence(scene.db, scene.learner, scene.credential(key))
    view = evidence.submit(scene.db, scene.learner.context_id, scene.learner.user_id, key)
    assert view.id is not None
    return view.id


def _form(scores: dict[str, str], feedback: str = "") -> dict[str, str]:
    data = {f"score-{k}": v for k, v in scores.items()}
    data["feedback"] = feedback
    return data


def test_empty_queue_says_so(scene: Scene) -> None:
    page = _text(scene.assessor_client.get("/assess/").data)
    assert "Nothing is waiting for review." in page


def test_not_yet_feedback_resubmit_then_earned(scene: Scene) -> None:
    cred = scene.credential()
    sub_id = _submit(scene)

    queue = _text(scene.assessor_client.get("/assess/").data)
    assert "Lena Learner" in queue and cred.title in queue and "Executive Function" in queue
    assert f'data-submission="{sub_id}"' in queue

    review = _text(scene.assessor_client.get(f"/assess/submissions/{sub_id}").data)
    assert "observation observation" in review  # the learner's answers beside the rubric
    assert "https://evidence.example/" in review  # their artifacts
    for criterion in cred.rubric.criteria:
        for level in cred.rubric.levels:
            assert f'name="score-{criterion.id}" value="{level.id}"' in review

    # "not yet" without feedback: the service's message, and the assessor's choices kept
    failing = factories.failing_scores(cred)
    refused = scene.assessor_client.post(f"/assess/submissions/{sub_id}", data=_form(failing))
    assert refused.status_code == 400
    page = _text(refused.data)
    assert "A &#39;not yet&#39; decision needs feedback for the learner." in page
    first = cred.rubric.criteria[0]
    assert re.search(rf'value="{failing[first.id]}" required\s*checked', page)

    feedback = "Ground each profile in two dated observations."
    posted = scene.assessor_client.post(f"/assess/submissions/{sub_id}", data=_form(failing, feedback))
    assert posted.status_code == 303  # Post/Redirect/Get: reloading the result never decides again
    assert posted.headers["Location"] == f"/assess/submissions/{sub_id}/decided"
    decided = scene.assessor_client.get(posted.headers["Location"])
    assert decided.status_code == 200
    assert "Not yet: " + cred.title in _text(decided.data)
    assert "Stack CEUs granted" not in _text(decided.data)

    # the learner sees the feedback prominently, per criterion, with editable fields and Resubmit
    learner_page = _text(scene.learner_client.get(f"/learn/credentials/{CRED}").data)
    assert "Not yet: what the assessor asks you to improve" in learner_page
    assert feedback in learner_page
    assert f"{first.title}</td>" in learner_page and "not yet met" in learner_page
    assert "<textarea" in learner_page and "Resubmit</button>" in learner_page
    assert 'class="state not_yet"' in _text(scene.learner_client.get("/learn/").data)

    answers, reflections = factories.complete_texts(cred)
    form = {"action": "submit", **{f"answer-{k}": v + " revised" for k, v in answers.items()}}
    form.update({f"reflection-{k}": v for k, v in reflections.items()})
    assert scene.learner_client.post(f"/learn/credentials/{CRED}", data=form).status_code == 303

    queue = _text(scene.assessor_client.get("/assess/").data)
    assert re.search(r"<td>2 <span class=\"state not_yet\">resubmission</span>", queue)
    review = _text(scene.assessor_client.get(f"/assess/submissions/{sub_id}").data)
    assert "attempt 2" in review and "Earlier decisions" in review and feedback in review

    earned = scene.assessor_client.post(
        f"/assess/submissions/{sub_id}",
        data=_form(factories.passing_scores(cred), "Clear profiles now."),
        follow_redirects=True,
    )
    assert earned.status_code == 200 and earned.request.path == f"/assess/submissions/{sub_id}/decided"
    assert "Earned: " + cred.title in _text(earned.data)

    learner_page = _text(scene.learner_client.get(f"/learn/credentials/{CRED}").data)
    assert re.search(r"Earned on \d{2} \w+ \d{4}\. This evidence is final and read-only\.", learner_page)
    assert "<textarea" not in learner_page


def test_deciding_twice_is_a_clear_conflict(scene: Scene) -> None:
    sub_id = _submit(scene)
    form = _form(factories.passing_scores(scene.credential()))
    assert scene.assessor_client.post(f"/assess/submissions/{sub_id}", data=form).status_code == 303
    again = scene.assessor_client.post(f"/assess/submissions/{sub_id}", data=form)
    assert again.status_code == 409
    page = _text(again.data)
    assert "This evidence was already decided" in page
    assert "Nothing was changed." in page
    assert "Record decision" not in page


def test_fifth_earned_credential_grants_the_stack_ceus(scene: Scene) -> None:
    stack = scene.course_map.stack("executive-function")
    *first_four, last = stack.credential_ids
    for key in first_four:
        result = factories.earn(scene.db, scene.learner, scene.assessor, scene.credential(key))
        assert result.new_grants == []
    page = _text(scene.learner_client.get("/learn/").data)
    assert "4 of 5</strong> earned" in page
    assert "CEUs granted:" not in page

    sub_id = _submit(scene, last)
    posted = scene.assessor_client.post(
        f"/assess/submissions/{sub_id}", data=_form(factories.passing_scores(scene.credential(last)))
    )
    assert posted.status_code == 303 and "grants=" in posted.headers["Location"]
    page = _text(scene.assessor_client.get(posted.headers["Location"]).data)
    assert "Stack CEUs granted" in page
    assert "Stack <strong>Executive Function</strong>: 1.0 CEU (10 contact hours)" in page

    home = _text(scene.learner_client.get("/learn/").data)
    assert "5 of 5</strong> earned" in home
    assert re.search(r"CEUs granted: <strong>1.0 CEU</strong> \(10 contact hours\) on", home)
    assert "CEUs granted so far: <strong>1.0</strong> (10 contact hours)" in home
    stack_page = _text(scene.learner_client.get("/learn/stacks/executive-function").data)
    assert "CEUs granted: <strong>1.0 CEU</strong>" in stack_page

"""Reviewing through the pages: what each rubric level looks like, panels of reviewers, and claims."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from markupsafe import escape

from lti_tool.db import Database
from lti_tool.domain.definitions import Credential
from lti_tool.services import evidence
from tests import factories
from tests.integration.test_pages_assessor import Scene, _submit, _text, scene
from tests.panel_maps import PANEL_CREDENTIAL as CRED
from tests.panel_maps import panel_map

__all__ = ["scene"]


def test_each_level_shows_what_it_looks_like_for_its_criterion(scene: Scene) -> None:
    cred = scene.credential()
    sub_id = _submit(scene)
    page = _text(scene.assessor_client.get(f"/assess/submissions/{sub_id}").data)
    for criterion in cred.rubric.criteria:
        fieldset = page[page.index(f'data-criterion="{criterion.id}"') :]
        fieldset = fieldset[: fieldset.index("</fieldset>")]
        for level in cred.rubric.levels:
            described = str(escape(criterion.describe(level.id)))
            assert described
            assert f'<span class="level-description">{described}</span>' in fieldset


@pytest.fixture
def panel(app: Flask, tmp_path: Path) -> Panel:
    db: Database = app.extensions["db"]
    course_map = factories.load_shipped_map(db, panel_map(tmp_path))
    course = factories.course(db)
    learner = course.learner("Lena Learner")
    assessors = [course.assessor(name) for name in ("Ada Assessor", "Bo Assessor", "Cy Assessor")]
    clients = []
    for actor in [learner, *assessors]:
        client = app.test_client()
        factories.sign_in(client, actor)
        clients.append(client)
    factories.complete_evidence(db, learner, course_map.credential(CRED))
    view = evidence.submit(db, learner.context_id, learner.user_id, CRED)
    assert view.id is not None
    return Panel(db, course_map.credential(CRED), view.id, clients[0], clients[1:])


@dataclass
class Panel:
    db: Database
    credential: Credential
    submission_id: int
    learner: FlaskClient
    assessors: list[FlaskClient]

    def review(self, i: int, earned: bool, feedback: str) -> str:
        scores = (
            factories.passing_scores(self.credential) if earned else factories.failing_scores(self.credential)
        )
        form = {f"score-{k}": v for k, v in scores.items()} | {"feedback": feedback}
        response = self.assessors[i].post(f"/assess/submissions/{self.submission_id}", data=form)
        assert response.status_code == 303, response.data
        return _text(self.assessors[i].get(response.headers["Location"]).data)


def test_a_panel_reviews_through_the_pages_and_the_learner_reads_all_three(panel: Panel) -> None:
    url = f"/assess/submissions/{panel.submission_id}"
    page = _text(panel.assessors[0].get(url).data)
    assert "A panel of 3 reviews this attempt (the majority decides): 0 of 3 reviews in." in page
    assert "Submit your review" in page and "You hold this submission until" in page

    # Bo opens it while Ada holds it: told, not blocked.
    page = _text(panel.assessors[1].get(url).data)
    assert re.search(
        r"<strong>Ada Assessor</strong> has held this since \d\d:\d\d UTC; you can still read it", page
    )
    assert "Submit your review" in page

    done = panel.review(0, True, "Profiles grounded in observation.")
    assert "Review recorded" in done and "1 of 3 reviews are in" in done
    page = _text(panel.assessors[0].get(url).data)
    assert "Your review is in" in page and "Reviewer 1 (you): earned" in page
    assert "Submit your review" not in page
    # Bo has not reviewed yet: Ada's scores and feedback are not on his page.
    page = _text(panel.assessors[1].get(url).data)
    assert "Profiles grounded in observation." not in page and "1 of 3 reviews in" in page
    queue = _text(panel.assessors[1].get("/assess/").data)
    assert "1 of 3 reviews" in queue

    panel.review(1, False, "The second profile needs work samples.")
    assert "Earned" in panel.review(2, True, "Specific next steps.")

    learner_page = _text(panel.learner.get(f"/learn/credentials/{CRED}").data)
    assert "A panel of 3 reviewed this attempt: 2 of 3 said earned." in learner_page
    for n, text in enumerate(
        [
            "Profiles grounded in observation.",
            "The second profile needs work samples.",
            "Specific next steps.",
        ],
        1,
    ):
        assert f"Reviewer {n}:" in learner_page and text in learner_page
    assert "Ada Assessor" not in learner_page and "Bo Assessor" not in learner_page


def test_release_ends_the_claim(panel: Panel) -> None:
    url = f"/assess/submissions/{panel.submission_id}"
    panel.assessors[0].get(url)
    assert "Ada Assessor" in _text(panel.assessors[1].get(url).data)
    response = panel.assessors[0].post(f"{url}/release")
    assert response.status_code == 303 and response.headers["Location"].endswith("/assess/")
    assert "has held this since" not in _text(panel.assessors[1].get(url).data)

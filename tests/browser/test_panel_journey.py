"""In Chromium: a credential reviewed by a panel of three (majority). The learner submits; three assessors,
each in their own browser, review independently (the second is told the first holds it, and sees no one
else's scores until giving theirs); two say earned and one not yet, so the panel decides earned; the
learner reads all three reviewers' feedback, anonymised, with how the panel decided."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from lti_tool.db.models import Context, Membership, User
from lti_tool.web.auth import ASSESSOR, TOKEN_PARAM, Actor, sign_in
from tests.browser.conftest import LiveServer, serving
from tests.browser.test_evidence_journey import add_file, add_link, fill_texts, launch
from tests.panel_maps import PANEL_CREDENTIAL as CRED
from tests.panel_maps import panel_map

pytestmark = pytest.mark.browser

FEEDBACK = {
    "Ada": "Both profiles rest on dated observations; the implications are specific.",
    "Bo": "The second profile needs work samples, not impressions.",
    "Cy": "Clear research summary and a plausible first change.",
}


@pytest.fixture
def panel_server(sqlite_template: Path, tmp_path: Path) -> Iterator[LiveServer]:
    """The development platform's course follows a copy of the Learning Differences map in which this
    credential is reviewed by a panel of 3 (COURSE_MAPS_DIR points at the copy)."""
    maps = tmp_path / "maps"
    maps.mkdir()
    panel_map(maps, "{panel: 3, decide: majority}")
    (tmp_path / "server").mkdir()
    with serving(sqlite_template, tmp_path / "server", COURSE_MAPS_DIR=str(maps)) as server:
        yield server


def another_assessor(browser: Any, server: LiveServer, name: str) -> Any:
    """A second teacher of the same course: a user and membership added through the database, signed in
    with the tool's cookie-less session token (as in an LMS iframe without cookies)."""
    db = server.app.extensions["db"]
    with db.transaction() as session:
        context = session.scalars(select(Context)).one()
        ada = session.scalars(select(User).where(User.name == "Ada Assessor")).one()
        user = User(platform_id=ada.platform_id, sub=f"dev-{name.lower()}", name=f"{name} Assessor")
        session.add(user)
        session.flush()
        session.add(Membership(context_id=context.id, user_id=user.id, roles=[ASSESSOR]))
        actor = Actor(
            user.id,
            ada.platform_id,
            context.deployment_id,
            context.id,
            user.name,
            frozenset({ASSESSOR}),
            context.course_key,
        )
    with server.app.test_request_context():
        token = sign_in(actor)
    page = browser.new_context(viewport={"width": 1200, "height": 900}).new_page()
    page.goto(f"{server.url}/assess/?{TOKEN_PARAM}={token}")
    return page


def open_review(page: Any) -> None:
    row = page.locator("table.queue tbody tr", has_text="Foundations of Practice in Executive Function")
    row.get_by_role("link", name="Review").click()
    page.wait_for_url(re.compile(r"/assess/submissions/\d+"))


def score(page: Any, earned: bool, feedback: str) -> None:
    criteria = page.locator("fieldset.criterion")
    for i in range(criteria.count()):
        level = "developing" if (i == 0 and not earned) else "proficient"
        criteria.nth(i).locator(f"input[value={level}]").check()
    page.fill("#feedback", feedback)
    page.get_by_role("button", name="Submit your review").click()
    page.wait_for_url(re.compile(r"/decided"))


def test_two_earned_and_one_not_yet_decide_earned(
    browser: Any, panel_server: LiveServer, tmp_path: Path
) -> None:
    server = panel_server
    learner = launch(browser, server, "learner (Lee Learner)", target=f"credential:{CRED}")
    fill_texts(learner, server)
    for n in (1, 2):
        work = tmp_path / f"sample-{n}.txt"
        work.write_text(f"Work sample {n}, names removed.\n")
        add_file(learner, "student-work", work, f"Work sample {n}")
    add_link(learner, "learner-profiles", "https://docs.example/profile-a", "Profile A")
    add_link(learner, "learner-profiles", "https://docs.example/profile-b", "Profile B")
    learner.get_by_role("button", name="Submit for review").click()
    learner.wait_for_url(re.compile("notice=submitted"))

    ada = launch(browser, server, "assessor (Ada Assessor)")
    assert "0 of 3 reviews" in ada.locator("table.queue").inner_text()
    open_review(ada)
    assert "A panel of 3 reviews this attempt (the majority decides): 0 of 3 reviews in." in ada.inner_text(
        ".panel-status"
    )
    # What each level looks like, beside its radio button.
    assert ada.locator("fieldset.criterion .level-description").count() == 9

    bo = another_assessor(browser, server, "Bo")
    open_review(bo)
    told = bo.locator("[data-claimed-by]").inner_text()
    assert re.search(r"Ada Assessor has held this since \d\d:\d\d UTC; you can still read it", told)

    score(ada, True, FEEDBACK["Ada"])
    assert "1 of 3 reviews are in" in ada.locator("[data-decision=pending]").inner_text()

    bo.reload()  # reviews stay independent: Ada's feedback is not on Bo's page before he gives his own
    assert FEEDBACK["Ada"] not in bo.content()
    score(bo, False, FEEDBACK["Bo"])
    bo.get_by_role("link", name="See this submission").click()
    reviews = bo.locator(".panel-reviews").inner_text()
    assert "2 of 3 reviews are in" in reviews and FEEDBACK["Ada"] in reviews and "Reviewer 2 (you)" in reviews

    cy = another_assessor(browser, server, "Cy")
    assert "2 of 3 reviews" in cy.locator("table.queue").inner_text()
    open_review(cy)
    score(cy, True, FEEDBACK["Cy"])
    assert cy.locator("[data-decision]").get_attribute("data-decision") == "earned"
    assert "Earned" in cy.inner_text("h1")

    learner.goto(learner.url.split("?")[0])
    assert learner.locator(".credential-head .state").inner_text() == "earned"
    decided = learner.locator("section.feedback[data-attempt='1']")
    assert "A panel of 3 reviewed this attempt: 2 of 3 said earned." in decided.inner_text()
    for n, who in enumerate(("Ada", "Bo", "Cy"), 1):
        review = decided.locator(f"[data-reviewer='Reviewer {n}']")
        assert FEEDBACK[who] in review.inner_text()
    assert "not yet" in decided.locator("[data-reviewer='Reviewer 2'] h4").inner_text()
    assert "Assessor" not in decided.inner_text()  # anonymised
    learner.screenshot(path="/tmp/panel-feedback.png", full_page=True)

"""Panel reviews on SQLite and PostgreSQL: the N-th review decides by the map's rule and does what a single
assessor's decision does; reviews stay independent; one person counts once; learners see every reviewer."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from lti_tool.db import Database
from lti_tool.db.models import Assessment, AttemptDecision, AuditEvent, Grant, OutboxMessage, Submission
from lti_tool.domain.rubric import Decision
from lti_tool.services import assessment, evidence, reviews
from lti_tool.services.errors import Conflict, ServiceError
from tests import scenario
from tests.panel_maps import PANEL_CREDENTIAL as CRED
from tests.panel_maps import panel_map


def _count(db: Database, model: Any, *where: Any) -> int:
    with db.read() as session:
        return int(session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


def _panel_course(
    db: Database, tmp_path: Path, review: str = "{panel: 3, decide: majority}"
) -> scenario.Course:
    return scenario.course(db, panel_map(tmp_path, review))


def _people(c: scenario.Course, n: int = 3) -> tuple[int, list[int]]:
    return c.person("Lee"), [c.person(name, scenario.ASSESSOR) for name in ("Ada", "Bo", "Cy", "Di")[:n]]


def _review(
    c: scenario.Course, sid: int, assessor: int, earned: bool, feedback: str = ""
) -> reviews.ReviewResult:
    scores = scenario.passing_scores(c, CRED) if earned else scenario.failing_scores(c, CRED)
    return assessment.decide(
        c.db, c.context_id, sid, assessor, scores, feedback or ("Good." if earned else "Add work.")
    )


def test_two_earned_and_one_not_yet_decide_earned_once_all_three_are_in(db: Database, tmp_path: Path) -> None:
    c = _panel_course(db, tmp_path)
    learner, (ada, bo, cy) = _people(c)
    scenario.complete_evidence(c, learner, CRED)
    sid = scenario.submission_id(c, learner, CRED)
    gradebook = OutboxMessage.topic == "gradebook.credential"
    before = _count(db, OutboxMessage, gradebook)

    first = _review(c, sid, ada, True, "Clear profiles.")
    assert (first.decision, first.review, first.reviews_in, first.panel) == (None, Decision.EARNED, 1, 3)
    second = _review(c, sid, bo, False, "Ground the second profile in work samples.")
    assert second.decision is None and second.reviews_in == 2
    # Nothing has left the review yet: no decision, still waiting, nothing for the gradebook, nothing shown.
    assert _count(db, AttemptDecision, AttemptDecision.submission_id == sid) == 0
    assert _count(db, OutboxMessage, gradebook) == before
    view = evidence.open_submission(db, c.context_id, learner, CRED)
    assert view.state.value == "submitted" and view.assessments == []

    third = _review(c, sid, cy, True, "Convincing next steps.")
    assert third.decision is Decision.EARNED and third.reviews_in == 3
    with db.read() as session:
        (decided,) = session.scalars(select(AttemptDecision).where(AttemptDecision.submission_id == sid))
        assert (decided.decision, decided.rule, decided.reviews, decided.attempt) == (
            "earned",
            "majority",
            3,
            1,
        )
        assert session.get(Submission, sid).state == "earned"  # type: ignore[union-attr]
        (message,) = session.scalars(
            select(OutboxMessage).where(gradebook).order_by(OutboxMessage.id.desc()).limit(1)
        )
        assert "Reviewer 2: Ground the second profile" in message.payload["comment"]
        actions = [
            a for (a,) in session.execute(select(AuditEvent.action).where(AuditEvent.subject_id == str(sid)))
        ]
    assert actions.count("submission.reviewed") == 2 and actions.count("submission.earned") == 1

    outcome = evidence.open_submission(db, c.context_id, learner, CRED).latest_feedback
    assert outcome is not None and outcome.panel and outcome.summary == "2 of 3 said earned"
    assert [(r.reviewer, r.decision) for r in outcome.reviews] == [
        ("Reviewer 1", "earned"),
        ("Reviewer 2", "not_yet"),
        ("Reviewer 3", "earned"),
    ]


def test_unanimous_panel_one_not_yet_then_a_new_attempt_needs_a_fresh_panel(
    db: Database, tmp_path: Path
) -> None:
    c = _panel_course(db, tmp_path, "{panel: 2, decide: unanimous}")
    learner, (ada, bo) = _people(c, 2)
    scenario.complete_evidence(c, learner, CRED)
    sid = scenario.submission_id(c, learner, CRED)
    _review(c, sid, ada, True)
    result = _review(c, sid, bo, False, "The implications are general.")
    assert result.decision is Decision.NOT_YET
    outcome = evidence.open_submission(db, c.context_id, learner, CRED).latest_feedback
    assert outcome is not None and outcome.rule == "unanimous"
    assert outcome.summary.startswith("1 of 2 said not yet; a unanimous panel")

    evidence.submit(db, c.context_id, learner, CRED)  # resubmitted: attempt 2
    assert _review(c, sid, ada, True).decision is None  # the same reviewers review the new attempt afresh
    assert _review(c, sid, bo, True).decision is Decision.EARNED
    view = evidence.open_submission(db, c.context_id, learner, CRED)
    assert [(a.attempt, a.decision) for a in view.assessments] == [(1, "not_yet"), (2, "earned")]


def test_a_tie_goes_where_the_map_says(db: Database, tmp_path: Path) -> None:
    c = _panel_course(db, tmp_path, "{panel: 2, ties: earned}")
    learner, (ada, bo) = _people(c, 2)
    scenario.complete_evidence(c, learner, CRED)
    sid = scenario.submission_id(c, learner, CRED)
    _review(c, sid, ada, False)
    assert _review(c, sid, bo, True).decision is Decision.EARNED


def test_one_person_counts_once_and_nobody_reviews_their_own_evidence(db: Database, tmp_path: Path) -> None:
    c = _panel_course(db, tmp_path)
    learner, (ada, _bo, _cy) = _people(c)
    scenario.complete_evidence(c, learner, CRED)
    sid = scenario.submission_id(c, learner, CRED)
    _review(c, sid, ada, True)
    with pytest.raises(Conflict, match="You already reviewed this attempt"):
        _review(c, sid, ada, False)
    with pytest.raises(ServiceError, match="own evidence") as own:
        _review(c, sid, learner, True)
    assert own.value.code == "own_submission"
    assert _count(db, Assessment, Assessment.submission_id == sid) == 1


def test_not_yet_still_needs_feedback_on_a_panel(db: Database, tmp_path: Path) -> None:
    c = _panel_course(db, tmp_path)
    learner, (ada, _bo, _cy) = _people(c)
    scenario.complete_evidence(c, learner, CRED)
    sid = scenario.submission_id(c, learner, CRED)
    with pytest.raises(ServiceError) as refused:
        assessment.decide(db, c.context_id, sid, ada, scenario.failing_scores(c, CRED), "  ")
    assert refused.value.code == "feedback_required"
    assert _count(db, Assessment, Assessment.submission_id == sid) == 0


def test_reviewers_see_the_others_only_after_giving_their_own(db: Database, tmp_path: Path) -> None:
    c = _panel_course(db, tmp_path)
    learner, (ada, bo, cy) = _people(c)
    scenario.complete_evidence(c, learner, CRED)
    sid = scenario.submission_id(c, learner, CRED)
    _review(c, sid, ada, True)
    page = reviews.review_page(db, c.context_id, sid, bo)
    assert page.can_review and page.reviews_in == 1 and page.visible_reviews == [] and page.mine is None
    _review(c, sid, bo, False)
    page = reviews.review_page(db, c.context_id, sid, bo)
    assert not page.can_review and page.mine is not None and page.mine.decision == "not_yet"
    assert [r.assessor_id for r in page.visible_reviews] == [ada, bo]
    assert reviews.review_page(db, c.context_id, sid, cy).visible_reviews == []
    _review(c, sid, cy, True)
    # Decided: everyone may read every review.
    page = reviews.review_page(db, c.context_id, sid, c.person("Ed", scenario.ASSESSOR))
    assert not page.waiting and len(page.visible_reviews) == 3


def test_a_panel_of_one_decides_at_once_as_before(db: Database, tmp_path: Path) -> None:
    c = scenario.course(db)
    learner, (ada,) = _people(c, 1)
    result = scenario.earn(c, learner, ada, CRED)
    assert result.decision is Decision.EARNED and result.reviews_in == 1 and result.panel == 1
    with db.read() as session:
        (decided,) = session.scalars(select(AttemptDecision))
    assert (decided.rule, decided.reviews) == ("single", 1)
    outcome = evidence.open_submission(db, c.context_id, learner, CRED).latest_feedback
    assert outcome is not None and not outcome.panel and outcome.summary == ""


def test_the_panels_last_review_grants_the_stack_once(db: Database, tmp_path: Path) -> None:
    c = _panel_course(db, tmp_path)
    learner, (ada, bo, cy) = _people(c)
    keys = list(c.map().stacks[0].credential_ids)
    for key in keys:
        if key != CRED:
            scenario.earn(c, learner, ada, key)
    scenario.complete_evidence(c, learner, CRED)
    sid = scenario.submission_id(c, learner, CRED)
    _review(c, sid, ada, True)
    _review(c, sid, bo, True)
    assert _count(db, Grant) == 0
    result = _review(c, sid, cy, False)
    assert result.decision is Decision.EARNED and len(result.new_grants) == 1
    assert _count(db, Grant) == 1

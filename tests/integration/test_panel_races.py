"""Panel reviews racing, on SQLite and PostgreSQL (threads released by one barrier): the reviews that
complete a panel at the same instant end in one decision, one grant and one set of outbox messages; one
person submitting twice at once counts once."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from lti_tool.db import Database
from lti_tool.db.models import Assessment, AttemptDecision, Grant, OutboxMessage
from lti_tool.domain.rubric import Decision
from lti_tool.services import assessment
from lti_tool.services.errors import Conflict
from tests import scenario
from tests.panel_maps import PANEL_CREDENTIAL as CRED
from tests.panel_maps import panel_map
from tests.races import race


@pytest.fixture
def race_db(database_url: str) -> Iterator[Database]:
    database = Database(database_url, pool_size=8)
    yield database
    database.dispose()


def _count(db: Database, model: Any, *where: Any) -> int:
    with db.read() as session:
        return int(session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


def _last_credential_waiting(db: Database, tmp_path: Path) -> tuple[scenario.Course, int, list[int], int]:
    """A learner with every other credential of the stack earned; the panel credential submitted."""
    c = scenario.course(db, panel_map(tmp_path))
    learner = c.person("Lee")
    assessors = [c.person(f"Assessor {i}", scenario.ASSESSOR) for i in range(5)]
    for key in c.map().stacks[0].credential_ids:
        if key != CRED:
            scenario.earn(c, learner, assessors[0], key)
    scenario.complete_evidence(c, learner, CRED)
    return c, learner, assessors, scenario.submission_id(c, learner, CRED)


def _outbox(db: Database) -> dict[str, int]:
    with db.read() as session:
        rows = session.execute(select(OutboxMessage.topic, func.count()).group_by(OutboxMessage.topic)).all()
    return {topic: int(n) for topic, n in rows}


def test_a_whole_panel_reviewing_at_once_decides_once(race_db: Database, tmp_path: Path) -> None:
    c, _learner, assessors, sid = _last_credential_waiting(race_db, tmp_path)
    panel = assessors[2:5]
    scores = scenario.passing_scores(c, CRED)
    before = _outbox(race_db)

    results, errors = race(3, lambda i: assessment.decide(race_db, c.context_id, sid, panel[i], scores, ""))
    assert not errors and len(results) == 3
    assert sorted(r.reviews_in for r in results) == [1, 2, 3]
    deciding = [r for r in results if r.decision is not None]
    assert len(deciding) == 1 and deciding[0].decision is Decision.EARNED and len(deciding[0].new_grants) == 1
    assert _count(race_db, AttemptDecision, AttemptDecision.submission_id == sid) == 1
    assert _count(race_db, Grant) == 1
    after = _outbox(race_db)
    added = {topic: after.get(topic, 0) - before.get(topic, 0) for topic in after}
    # One decision's messages: the credential's score and its stack's progress (with its CEUs), once.
    assert added.get("gradebook.credential") == 1 and added.get("gradebook.stack") == 1


def test_three_reviewers_racing_for_the_last_place_on_a_panel(race_db: Database, tmp_path: Path) -> None:
    c, _learner, assessors, sid = _last_credential_waiting(race_db, tmp_path)
    scores = scenario.passing_scores(c, CRED)
    for assessor in assessors[:2]:
        assert assessment.decide(race_db, c.context_id, sid, assessor, scores, "").decision is None
    late = assessors[2:5]

    results, errors = race(3, lambda i: assessment.decide(race_db, c.context_id, sid, late[i], scores, ""))
    assert len(results) == 1 and results[0].decision is Decision.EARNED, errors
    assert len(errors) == 2 and all(isinstance(e, Conflict) for e in errors)
    assert _count(race_db, Assessment, Assessment.submission_id == sid) == 3
    assert _count(race_db, AttemptDecision, AttemptDecision.submission_id == sid) == 1
    assert _count(race_db, Grant) == 1


def test_the_same_person_submitting_twice_at_once_counts_once(race_db: Database, tmp_path: Path) -> None:
    c, _learner, assessors, sid = _last_credential_waiting(race_db, tmp_path)
    scores = scenario.passing_scores(c, CRED)
    results, errors = race(
        4, lambda _: assessment.decide(race_db, c.context_id, sid, assessors[1], scores, "")
    )
    assert len(results) == 1 and len(errors) == 3
    assert all(isinstance(e, Conflict) and e.code == "already_reviewed" for e in errors)
    assert _count(race_db, Assessment, Assessment.submission_id == sid) == 1
    assert _count(race_db, AttemptDecision, AttemptDecision.submission_id == sid) == 0

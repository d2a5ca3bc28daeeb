"""Exactly one CEU grant when approvals race, on a real PostgreSQL (many threads, one barrier)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from lti_tool.db import Database
from lti_tool.db.models import Grant, Submission
from lti_tool.services import assessment
from lti_tool.services.errors import Conflict
from lti_tool.services.grants import grant_due
from lti_tool.services.scope import context_course
from tests import scenario
from tests.races import race

THREADS = 16


def _grant_count(db: Database) -> int:
    with db.read() as session:
        return int(session.scalar(select(func.count()).select_from(Grant)) or 0)


@pytest.fixture
def pg_db(postgres_url: str) -> Database:
    database = Database(postgres_url, pool_size=THREADS + 2)
    yield database
    database.dispose()


def test_many_assessors_approving_the_final_credential_grant_once(pg_db: Database) -> None:
    c = scenario.course(pg_db)
    learner = c.person("Lee")
    assessors = [c.person(f"Assessor {i}", scenario.ASSESSOR) for i in range(THREADS)]
    keys = list(c.map().stacks[0].credential_ids)
    for key in keys[:4]:
        scenario.earn(c, learner, assessors[0], key)
    scenario.complete_evidence(c, learner, keys[4])
    sid = scenario.submission_id(c, learner, keys[4])
    scores = scenario.passing_scores(c, keys[4])

    results, errors = race(
        THREADS, lambda i: assessment.decide(pg_db, c.context_id, sid, assessors[i], scores, "")
    )
    assert len(results) == 1, errors
    assert all(isinstance(e, Conflict) for e in errors) and len(errors) == THREADS - 1
    assert _grant_count(pg_db) == 1


def test_the_last_two_credentials_approved_at_the_same_instant_grant_exactly_once(pg_db: Database) -> None:
    """Write skew: each approval alone sees 4 of 5; the per-learner lock makes the second see 5."""
    for round_ in range(5):
        c = scenario.course(pg_db, context_id=f"course-{round_}")
        learner = c.person("Lee")
        a, b = c.person("A", scenario.ASSESSOR), c.person("B", scenario.ASSESSOR)
        keys = list(c.map().stacks[0].credential_ids)
        for key in keys[:3]:
            scenario.earn(c, learner, a, key)
        for key in keys[3:]:
            scenario.complete_evidence(c, learner, key)
        sids = [scenario.submission_id(c, learner, key) for key in keys[3:]]
        pairs = [(sids[0], a, keys[3]), (sids[1], b, keys[4])]

        def approve(i: int, c: scenario.Course = c, pairs: list[tuple[int, int, str]] = pairs) -> object:
            sid, assessor, key = pairs[i]
            return assessment.decide(pg_db, c.context_id, sid, assessor, scenario.passing_scores(c, key), "")

        results, errors = race(2, approve)
        assert not errors and len(results) == 2
        with pg_db.read() as session:
            stack_grants = session.scalar(
                select(func.count()).select_from(Grant).where(Grant.context_id == c.context_id)
            )
        assert stack_grants == 1


def test_the_database_refuses_a_second_grant_even_without_the_lock(pg_db: Database) -> None:
    c = scenario.course(pg_db)
    learner, assessor = c.person("Lee"), c.person("Ada", scenario.ASSESSOR)
    for key in c.map().stacks[0].credential_ids:
        scenario.earn(c, learner, assessor, key)
    with pg_db.transaction() as session:
        session.execute(Grant.__table__.delete())  # start from "earned but not yet granted"
    assert _grant_count(pg_db) == 0

    def grant(_: int) -> int:
        with pg_db.transaction() as session:
            _, course, version = context_course(session, c.context_id)
            return len(
                grant_due(
                    session,
                    context_id=c.context_id,
                    user_id=learner,
                    course=course,
                    map_version_id=version,
                    actor_user_id=None,
                )
            )

    results, errors = race(THREADS, grant)
    assert not errors
    assert sum(results) == 1  # type: ignore[arg-type]
    assert _grant_count(pg_db) == 1
    with pg_db.read() as session:
        assert (
            session.scalar(select(func.count()).select_from(Submission).where(Submission.state == "earned"))
            == 5
        )

"""Review claims on SQLite and PostgreSQL: opening claims, re-opening extends, reviewing or releasing ends a
claim, an expired claim holds nothing, and a second assessor is told rather than blocked."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update

from lti_tool.db import Database
from lti_tool.db.base import utcnow
from lti_tool.db.models import ReviewClaim
from lti_tool.services import assessment, review_claims, reviews
from lti_tool.services.errors import NotFound
from tests import scenario
from tests.panel_maps import PANEL_CREDENTIAL as CRED
from tests.panel_maps import panel_map


def _setup(db: Database, tmp_path: Path) -> tuple[scenario.Course, int, int, int, int]:
    c = scenario.course(db, panel_map(tmp_path))
    learner = c.person("Lee")
    ada, bo = c.person("Ada", scenario.ASSESSOR), c.person("Bo", scenario.ASSESSOR)
    scenario.complete_evidence(c, learner, CRED)
    return c, learner, ada, bo, scenario.submission_id(c, learner, CRED)


def test_opening_claims_reopening_extends_and_others_are_told(db: Database, tmp_path: Path) -> None:
    c, _learner, ada, bo, sid = _setup(db, tmp_path)
    first = review_claims.claim(db, c.context_id, sid, ada, 30)
    assert first.mine is not None and first.others == []
    assert timedelta(minutes=29) < first.mine.expires_at - first.mine.claimed_at <= timedelta(minutes=30)

    again = review_claims.claim(db, c.context_id, sid, ada, 45)
    assert again.mine is not None
    assert again.mine.claimed_at == first.mine.claimed_at  # held since the first opening
    assert again.mine.expires_at > first.mine.expires_at

    seen_by_bo = review_claims.claim(db, c.context_id, sid, bo, 30)
    assert [(h.name, h.claimed_at) for h in seen_by_bo.others] == [("Ada", first.mine.claimed_at)]
    assert seen_by_bo.mine is not None  # told, not blocked: Bo holds it too
    with db.read() as session:
        holders = review_claims.active_holders(session, [sid])[sid]
    assert [h.name for h in holders] == ["Ada", "Bo"]


def test_release_and_review_end_a_claim_and_an_expired_one_holds_nothing(
    db: Database, tmp_path: Path
) -> None:
    c, _learner, ada, bo, sid = _setup(db, tmp_path)
    review_claims.claim(db, c.context_id, sid, ada, 30)
    review_claims.release(db, c.context_id, sid, ada)
    assert review_claims.claim(db, c.context_id, sid, bo, 30).others == []

    review_claims.claim(db, c.context_id, sid, ada, 30)
    assessment.decide(db, c.context_id, sid, ada, scenario.passing_scores(c, CRED), "")
    assert reviews.review_page(db, c.context_id, sid, bo).claims.others == []
    # A reviewer who has given their review does not claim again by opening the page.
    assert review_claims.claim(db, c.context_id, sid, ada, 30).mine is None

    with db.transaction() as session:
        session.execute(update(ReviewClaim).values(expires_at=utcnow() - timedelta(seconds=1)))
    assert reviews.review_page(db, c.context_id, sid, ada).claims.others == []
    # Re-opening after expiry starts a new claim now.
    renewed = review_claims.claim(db, c.context_id, sid, bo, 30).mine
    assert renewed is not None and renewed.claimed_at > utcnow() - timedelta(minutes=1)


def test_no_claim_on_ones_own_evidence_nor_in_another_course(db: Database, tmp_path: Path) -> None:
    c, learner, ada, _bo, sid = _setup(db, tmp_path)
    assert review_claims.claim(db, c.context_id, sid, learner, 30).mine is None
    other = scenario.course(db, context_id="course-2")
    with pytest.raises(NotFound):
        review_claims.claim(db, other.context_id, sid, ada, 30)
    with db.read() as session:
        assert session.scalars(select(ReviewClaim)).all() == []

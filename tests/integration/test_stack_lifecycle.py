"""Evidence, "not yet", resubmission, earning and CEU grants through the services (SQLite, PostgreSQL)."""

from __future__ import annotations

import shutil
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select, text, update
from sqlalchemy.exc import DBAPIError

from lti_tool.db.models import AuditEvent, Grant, OutboxMessage
from lti_tool.services import artifacts, assessment, evidence, progress
from lti_tool.services.course_maps import load_course_maps
from lti_tool.services.errors import Conflict, EvidenceIncomplete, NotFound, ServiceError
from tests import scenario


def _stack(c: scenario.Course, index: int = 0) -> list[str]:
    return list(c.map().stacks[index].credential_ids)


def _grants(db) -> list[Grant]:  # type: ignore[no-untyped-def]
    with db.read() as session:
        return list(session.scalars(select(Grant).order_by(Grant.id)))


def test_four_of_five_no_ceu_fifth_grants_once(db) -> None:  # type: ignore[no-untyped-def]
    c = scenario.course(db)
    learner, assessor = c.person("Lee"), c.person("Ada", scenario.ASSESSOR)
    credentials = _stack(c)
    assert len(credentials) == 5
    for key in credentials[:4]:
        result = scenario.earn(c, learner, assessor, key)
        assert result.new_grants == []
    assert _grants(db) == []
    result = scenario.earn(c, learner, assessor, credentials[4])
    assert [(kind, target) for _, kind, target in result.new_grants] == [("stack", c.map().stacks[0].id)]
    grants = _grants(db)
    assert len(grants) == 1 and grants[0].ceus == Decimal("1.0") and grants[0].contact_hours == Decimal("10")
    overview = progress.learner_overview(db, c.context_id, learner)
    assert overview.stacks[0].complete and overview.stacks[0].grant is not None
    assert not overview.stacks[1].complete and overview.total_ceus == Decimal("1.0")
    with db.read() as session:
        actions = list(session.scalars(select(AuditEvent.action).where(AuditEvent.action.like("grant.%"))))
        topics = list(session.scalars(select(OutboxMessage.topic)))
    assert actions == ["grant.stack"]
    assert topics.count("gradebook.stack") == 5 and "gradebook.credential" in topics


def test_not_yet_then_resubmission_then_earned(db) -> None:  # type: ignore[no-untyped-def]
    c = scenario.course(db)
    learner, assessor = c.person("Lee"), c.person("Ada", scenario.ASSESSOR)
    key = _stack(c)[0]
    with pytest.raises(EvidenceIncomplete) as incomplete:
        evidence.submit(db, c.context_id, learner, key)
    assert incomplete.value.problems
    scenario.complete_evidence(c, learner, key)
    sid = scenario.submission_id(c, learner, key)
    result = assessment.decide(
        db, c.context_id, sid, assessor, scenario.failing_scores(c, key), "Add student work."
    )
    assert result.decision == "not_yet" and result.unmet_criteria
    view = evidence.open_submission(db, c.context_id, learner, key)
    assert (
        view.state == "not_yet"
        and view.latest_feedback
        and view.latest_feedback.feedback == "Add student work."
    )
    assert view.editable
    evidence.save_draft(db, c.context_id, learner, key, {}, {})
    resubmitted = evidence.submit(db, c.context_id, learner, key)
    assert resubmitted.state == "submitted" and resubmitted.attempt == 2
    result = assessment.decide(db, c.context_id, sid, assessor, scenario.passing_scores(c, key), "")
    assert result.decision == "earned"
    final = evidence.open_submission(db, c.context_id, learner, key)
    assert final.state == "earned" and [a.decision for a in final.assessments] == ["not_yet", "earned"]
    with pytest.raises(Conflict):
        evidence.save_draft(db, c.context_id, learner, key, {}, {})


def test_fourteen_of_fifteen_no_course_award_fifteenth_grants_it(db) -> None:  # type: ignore[no-untyped-def]
    c = scenario.course(db)
    learner, assessor = c.person("Lee"), c.person("Ada", scenario.ASSESSOR)
    all_keys = [k for s in c.map().stacks for k in s.credential_ids]
    assert len(all_keys) == 15
    for key in all_keys[:14]:
        scenario.earn(c, learner, assessor, key)
    assert [g.kind for g in _grants(db)] == ["stack", "stack"]
    result = scenario.earn(c, learner, assessor, all_keys[14])
    assert sorted(kind for _, kind, _ in result.new_grants) == ["course_award", "stack"]
    overview = progress.learner_overview(db, c.context_id, learner)
    assert overview.award is not None
    assert overview.total_hours == Decimal("30") and overview.total_ceus == Decimal("3.0")


def test_deciding_twice_conflicts_and_other_courses_see_nothing(db) -> None:  # type: ignore[no-untyped-def]
    c = scenario.course(db)
    other = scenario.course(db, context_id="course-2")
    learner, assessor = c.person("Lee"), c.person("Ada", scenario.ASSESSOR)
    key = _stack(c)[0]
    scenario.complete_evidence(c, learner, key)
    sid = scenario.submission_id(c, learner, key)
    with pytest.raises(NotFound):
        assessment.decide(db, other.context_id, sid, assessor, scenario.passing_scores(c, key), "")
    assert assessment.review_queue(db, other.context_id) == []
    assessment.decide(db, c.context_id, sid, assessor, scenario.passing_scores(c, key), "")
    with pytest.raises(Conflict):
        assessment.decide(db, c.context_id, sid, assessor, scenario.passing_scores(c, key), "")


def test_map_edit_after_award_keeps_the_award(db, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    c = scenario.course(db)
    learner, assessor = c.person("Lee"), c.person("Ada", scenario.ASSESSOR)
    stack = c.map().stacks[0]
    for key in stack.credential_ids:
        scenario.earn(c, learner, assessor, key)
    [before] = _grants(db)
    edited = tmp_path / "learning-differences"
    shutil.copytree(scenario.LEARNING_DIFFERENCES, edited)
    course_yaml = edited / "course.yaml"
    source = course_yaml.read_text()
    assert f"title: {stack.title}" in source
    course_yaml.write_text(source.replace(f"title: {stack.title}", f"title: {stack.title} (2027 edition)", 1))
    result = load_course_maps(db, [edited])[0]
    assert result.created and result.revision == 2
    [after] = _grants(db)
    assert (after.id, after.map_version_id, after.title, after.ceus) == (
        before.id,
        before.map_version_id,
        before.title,
        before.ceus,
    )
    assert c.map().stacks[0].title.endswith("(2027 edition)")
    overview = progress.learner_overview(db, c.context_id, learner)
    assert (
        overview.stacks[0].grant is not None
        and overview.stacks[0].grant.map_version_id == before.map_version_id
    )
    assert evidence.open_submission(db, c.context_id, learner, stack.credential_ids[0]).state == "earned"


def test_audit_trail_is_append_only(db) -> None:  # type: ignore[no-untyped-def]
    c = scenario.course(db)
    learner = c.person("Lee")
    key = _stack(c)[0]
    evidence.save_draft(db, c.context_id, learner, key, {}, {})
    with db.read() as session:
        assert session.scalar(select(func.count()).select_from(AuditEvent)) >= 1
    for statement in (update(AuditEvent).values(action="tampered"), text("DELETE FROM audit_events")):
        with pytest.raises(DBAPIError, match="append-only"), db.transaction() as session:
            session.execute(statement)


def test_artifacts_beyond_a_requirements_maximum_are_refused(db) -> None:  # type: ignore[no-untyped-def]
    c = scenario.course(db)
    learner = c.person("Lee")
    credential = c.map().credential(_stack(c)[0])
    requirement = credential.requirements.artifacts[0]
    for n in range(requirement.max_count):
        artifacts.add_link_artifact(
            db, c.context_id, learner, credential.id, requirement.id, f"https://x.example/{n}", ""
        )
    with pytest.raises(ServiceError) as refused:
        artifacts.add_link_artifact(
            db, c.context_id, learner, credential.id, requirement.id, "https://x.example/n", ""
        )
    assert refused.value.code == "too_many_artifacts"
    view = evidence.open_submission(db, c.context_id, learner, credential.id)
    assert sum(1 for a in view.artifacts if a.requirement_id == requirement.id) == requirement.max_count

"""The rules of stacks, "not yet", rubric decisions and CEUs, without any I/O."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lti_tool.domain.ceu import award_for_hours, ceus_for_hours
from lti_tool.domain.completion import progress, rule_satisfied
from lti_tool.domain.definitions import (
    CompletionRule,
    CourseAward,
    CourseMap,
    Credential,
    Rubric,
    RubricCriterion,
    RubricLevel,
    Stack,
    SubmissionRequirements,
    Unit,
)
from lti_tool.domain.grants import GrantKind, due_grants
from lti_tool.domain.rubric import Decision, ScoringError, decide
from lti_tool.domain.submissions import SubmissionState, TransitionError, next_state

LEVELS = (RubricLevel("developing", "Developing", 1), RubricLevel("proficient", "Proficient", 2))
RUBRIC = Rubric(
    levels=LEVELS,
    criteria=(
        RubricCriterion("evidence", "Evidence", "", "proficient"),
        RubricCriterion("reflection", "Reflection", "", "proficient"),
    ),
)


def _credential(cid: str) -> Credential:
    return Credential(cid, cid.title(), "", "", (), SubmissionRequirements((), (), ()), RUBRIC)


def _course(stacks: int = 3, per_stack: int = 5, hours: float = 10) -> CourseMap:
    stack_values = []
    creds = []
    for s in range(stacks):
        ids = tuple(f"s{s}c{c}" for c in range(per_stack))
        creds += [_credential(i) for i in ids]
        stack_values.append(Stack(f"s{s}", f"Stack {s}", "", ids, CompletionRule(frozenset(ids)), hours))
    return CourseMap(
        id="course",
        title="Course",
        version="1",
        units=tuple(Unit(f"u{s}", f"Unit {s}", f"s{s}") for s in range(stacks)),
        stacks=tuple(stack_values),
        credentials=tuple(creds),
        award=CourseAward("all", "Whole course", tuple(f"s{s}" for s in range(stacks))),
    )


def test_four_of_five_gives_no_ceu_and_the_fifth_grants_the_stack() -> None:
    course = _course()
    four = {f"s0c{c}" for c in range(4)}
    assert due_grants(course, four) == []
    grants = due_grants(course, four | {"s0c4"})
    assert [(g.kind, g.target_id, g.ceus) for g in grants] == [(GrantKind.STACK, "s0", Decimal("1.0"))]


def test_fourteen_of_fifteen_gives_no_course_award() -> None:
    course = _course()
    everything = {c.id for c in course.credentials}
    kinds = [g.kind for g in due_grants(course, everything - {"s2c4"})]
    assert GrantKind.COURSE_AWARD not in kinds
    assert kinds.count(GrantKind.STACK) == 2
    full = due_grants(course, everything)
    assert [g.target_id for g in full if g.kind is GrantKind.COURSE_AWARD] == ["all"]


def test_whole_learning_differences_course_is_thirty_hours_three_ceus() -> None:
    course = _course(hours=10)
    total = sum(g.ceus for g in due_grants(course, {c.id for c in course.credentials}))
    assert total == Decimal("3.0")
    assert award_for_hours(30).renewal_credits == Decimal("3.0")


def test_all_plus_choose_rule() -> None:
    rule = CompletionRule(frozenset({"a", "b"}), frozenset({"x", "y", "z"}), choose=2)
    assert not rule_satisfied(rule, {"a", "b", "x"})
    assert not rule_satisfied(rule, {"a", "x", "y", "z"})
    assert rule_satisfied(rule, {"a", "b", "x", "z"})
    stack = Stack("s", "S", "", ("a", "b", "x", "y", "z"), rule, 5)
    assert progress(stack, {"a", "x", "y", "z"}) == (3, 4)


@given(st.sets(st.sampled_from([f"s0c{i}" for i in range(5)])))
def test_stack_granted_iff_every_credential_earned(earned: set[str]) -> None:
    course = _course(stacks=1)
    granted = [g for g in due_grants(course, earned) if g.kind is GrantKind.STACK]
    assert bool(granted) == (len(earned) == 5)


def test_not_yet_then_resubmission_then_earned() -> None:
    state = next_state(SubmissionState.DRAFT, "submit")
    outcome = decide(RUBRIC, {"evidence": "developing", "reflection": "proficient"}, "Show student work.")
    assert outcome.decision is Decision.NOT_YET and outcome.unmet_criteria == ("evidence",)
    state = next_state(state, "not_yet")
    assert state is SubmissionState.NOT_YET
    state = next_state(state, "submit")
    assert (
        decide(RUBRIC, {"evidence": "proficient", "reflection": "proficient"}, "").decision is Decision.EARNED
    )
    assert next_state(state, "earn") is SubmissionState.EARNED


def test_earned_is_final_and_drafts_cannot_be_assessed() -> None:
    with pytest.raises(TransitionError) as exc:
        next_state(SubmissionState.EARNED, "submit")
    assert exc.value.code == "already_earned"
    with pytest.raises(TransitionError) as exc:
        next_state(SubmissionState.DRAFT, "earn")
    assert exc.value.code == "not_submitted"


def test_not_yet_needs_feedback_and_every_criterion_scored() -> None:
    with pytest.raises(ScoringError) as exc:
        decide(RUBRIC, {"evidence": "developing", "reflection": "proficient"}, "  ")
    assert exc.value.code == "feedback_required"
    with pytest.raises(ScoringError) as exc:
        decide(RUBRIC, {"evidence": "proficient"}, "")
    assert exc.value.code == "unscored_criterion"
    with pytest.raises(ScoringError) as exc:
        decide(RUBRIC, {"evidence": "expert", "reflection": "proficient"}, "")
    assert exc.value.code == "unknown_level"


def test_ceu_arithmetic_rounds_to_tenths() -> None:
    assert ceus_for_hours(10) == Decimal("1.0")
    assert ceus_for_hours(7.5) == Decimal("0.8")
    assert ceus_for_hours(0) == Decimal("0.0")
    with pytest.raises(ValueError):
        ceus_for_hours(-1)

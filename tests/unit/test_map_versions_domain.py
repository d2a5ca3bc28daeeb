"""A learner's course as they started it, and what a new map version changes (domain only, no I/O)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lti_tool.domain.completion import progress, stack_complete
from lti_tool.domain.definitions import (
    MAX_PANEL,
    ArtifactKind,
    ArtifactRequirement,
    CompletionRule,
    CourseMap,
    Credential,
    OverviewQuestion,
    PanelRule,
    ReviewPolicy,
    Rubric,
    RubricCriterion,
    RubricLevel,
    Stack,
    SubmissionRequirements,
    TieBreak,
    Unit,
)
from lti_tool.domain.learner_map import as_started, credential_source
from lti_tool.domain.map_diff import Action, diff_maps


def credential(cid: str, title: str = "", min_words: int = 50) -> Credential:
    return Credential(
        id=cid,
        title=title or cid.title(),
        competency="Competency",
        key_method="Method",
        method_components=("Step",),
        requirements=SubmissionRequirements(
            overview_questions=(OverviewQuestion("q1", "Why?", min_words),),
            artifacts=(ArtifactRequirement("work", ArtifactKind.DOCUMENT, "Student work"),),
            reflection_prompts=(),
        ),
        rubric=Rubric(
            levels=(RubricLevel("dev", "Developing", 1), RubricLevel("pro", "Proficient", 2)),
            criteria=(RubricCriterion("c1", "Criterion", "Text", "pro"),),
        ),
    )


def course(*stack_credentials: tuple[str, tuple[str, ...]], extra: tuple[Credential, ...] = ()) -> CourseMap:
    stacks = tuple(
        Stack(sid, sid.title(), "Statement", cids, CompletionRule(frozenset(cids)), 10.0)
        for sid, cids in stack_credentials
    )
    ids = [c for _, cids in stack_credentials for c in cids]
    return CourseMap(
        id="course",
        title="Course",
        version="1",
        units=tuple(Unit(f"u-{s.id}", s.title, s.id) for s in stacks),
        stacks=stacks,
        credentials=(*(credential(c) for c in ids), *extra),
    )


V1 = course(("alpha", ("a1", "a2")), ("beta", ("b1",)))
V2 = course(("alpha", ("a1", "a2", "a3")), ("beta", ("b1",)))


def test_a_started_stack_keeps_its_bar_and_others_follow_the_live_version() -> None:
    judged = as_started(V2, {"alpha": V1})
    alpha = judged.stack("alpha")
    assert alpha.credential_ids == ("a1", "a2")
    assert stack_complete(alpha, {"a1", "a2"}) and progress(alpha, {"a1", "a2"}) == (2, 2)
    assert as_started(V2, {}) is V2
    assert progress(as_started(V2, {}).stack("alpha"), {"a1", "a2"}) == (2, 3)
    assert judged.stack("beta") is V2.stack("beta")


def test_a_credential_removed_later_stays_the_learners_and_comes_from_their_version() -> None:
    v1 = replace(V2, credentials=tuple(credential(c.id, min_words=10) for c in V2.credentials))
    v3 = course(("alpha", ("a1",)), ("beta", ("b1",)))
    judged = as_started(v3, {"alpha": v1})
    assert judged.stack("alpha").credential_ids == ("a1", "a2", "a3")
    assert judged.credential("a3").requirements.overview_questions[0].min_words == 10
    assert judged.credential("a1").requirements.overview_questions[0].min_words == 10  # v1's text
    assert judged.credential("b1") is v3.credential("b1")
    assert credential_source(v3, {"alpha": v1}, "a3") == "alpha"
    assert credential_source(v3, {"alpha": v1}, "b1") is None


def test_the_difference_names_added_credentials_stack_members_and_rules() -> None:
    changes = diff_maps(V1, V2)
    assert [(c.action, c.subject) for c in changes] == [
        (Action.CHANGED, "stack"),
        (Action.CHANGED, "completion rule"),
        (Action.ADDED, "credential"),
    ]
    assert changes[0].details == ("credential added to the stack: a3",)
    assert "all of: a1, a2 -> all of: a1, a2, a3" in changes[1].details[0]
    assert changes[2].name == "a3 (A3)"
    assert diff_maps(V2, V2) == []
    removed = diff_maps(V2, V1)
    assert (Action.REMOVED, "credential", "a3 (A3)") in [(c.action, c.subject, c.name) for c in removed]


def test_the_difference_names_changed_requirements_and_rubrics() -> None:
    new = replace(
        V1,
        title="Course, 2nd edition",
        credentials=(
            replace(credential("a1", min_words=120), title="A1 renamed"),
            *V1.credentials[1:2],
            replace(
                V1.credentials[2],
                rubric=replace(
                    V1.credentials[2].rubric,
                    criteria=(RubricCriterion("c1", "Criterion", "Text", "dev"),),
                ),
            ),
        ),
    )
    changes = {(c.action, c.subject, c.name): c.details for c in diff_maps(V1, new)}
    assert changes[(Action.CHANGED, "course", "Course, 2nd edition")] == (
        "title: 'Course' -> 'Course, 2nd edition'",
    )
    assert changes[(Action.CHANGED, "credential", "a1 (A1 renamed)")] == ("title: 'A1' -> 'A1 renamed'",)
    assert changes[(Action.CHANGED, "requirement", "a1 (A1 renamed): overview question q1")] == (
        "min words: 50 -> 120",
    )
    assert changes[(Action.CHANGED, "rubric", "b1 (B1)")] == (
        "criterion c1 changed: passing level: 'pro' -> 'dev'",
    )


# --- who decides and what each level looks like (map format 3), in the map's terms ---------------------


def with_b1(course_map: CourseMap, **changes: Any) -> CourseMap:
    """``course_map`` with credential b1 changed by ``changes`` (``review``, ``rubric``, ``title`` ...)."""
    return replace(
        course_map,
        credentials=tuple(replace(c, **changes) if c.id == "b1" else c for c in course_map.credentials),
    )


def b1_details(old: CourseMap, new: CourseMap, subject: str) -> tuple[str, ...]:
    found = [c for c in diff_maps(old, new) if c.subject == subject and c.name == "b1 (B1)"]
    assert len(found) <= 1 and all(c.action is Action.CHANGED for c in found)
    return found[0].details if found else ()


def majority(panel: int, ties: TieBreak = TieBreak.NOT_YET) -> ReviewPolicy:
    return ReviewPolicy(panel, PanelRule.MAJORITY, ties)


def unanimous(panel: int) -> ReviewPolicy:
    return ReviewPolicy(panel, PanelRule.UNANIMOUS)


@pytest.mark.parametrize(
    ("old", "new", "wording"),
    [
        (ReviewPolicy(), majority(3), "review added: panel of 3, majority"),
        (ReviewPolicy(), unanimous(2), "review added: panel of 2, unanimous"),
        (ReviewPolicy(), majority(4, TieBreak.EARNED), "review added: panel of 4, majority, ties earned"),
        (unanimous(3), ReviewPolicy(), "review removed (one assessor decides): was a panel of 3, unanimous"),
        (
            majority(2, TieBreak.EARNED),
            ReviewPolicy(),
            "review removed (one assessor decides): was a panel of 2, majority, ties earned",
        ),
        (majority(3), majority(5), "review: panel 3 -> 5, decide majority"),
        (majority(3), unanimous(3), "review: panel 3, decide majority -> unanimous"),
        (unanimous(3), unanimous(6), "review: panel 3 -> 6, decide unanimous"),
        (
            majority(2),
            majority(2, TieBreak.EARNED),
            "review: panel 2, decide majority, ties not yet -> earned",
        ),
        (
            majority(3),
            majority(4, TieBreak.EARNED),
            "review: panel 3 -> 4, decide majority, ties none -> earned",
        ),
        (majority(4), majority(5), "review: panel 4 -> 5, decide majority, ties not yet -> none"),
        (
            unanimous(4),
            majority(4, TieBreak.EARNED),
            "review: panel 4, decide unanimous -> majority, ties none -> earned",
        ),
    ],
)
def test_a_changed_review_is_said_with_its_old_and_new_panel(
    old: ReviewPolicy, new: ReviewPolicy, wording: str
) -> None:
    assert b1_details(with_b1(V1, review=old), with_b1(V1, review=new), "credential") == (wording,)


def test_a_review_line_follows_the_credentials_other_fields_and_nothing_is_said_when_it_decides_alike() -> (
    None
):
    renamed = with_b1(V1, review=majority(3), competency="Another competency")
    assert b1_details(V1, renamed, "credential") == (
        "competency: 'Competency' -> 'Another competency'",
        "review added: panel of 3, majority",
    )
    # One assessor decides whatever the rule; an odd panel cannot tie, whatever its ties say.
    assert diff_maps(V1, with_b1(V1, review=unanimous(1))) == []
    assert diff_maps(with_b1(V1, review=majority(3)), with_b1(V1, review=majority(3, TieBreak.EARNED))) == []
    assert (
        diff_maps(
            with_b1(V1, review=unanimous(4)),
            with_b1(V1, review=ReviewPolicy(4, PanelRule.UNANIMOUS, TieBreak.EARNED)),
        )
        == []
    )


def criterion_c1(*descriptions: tuple[str, str], passing: str = "pro") -> CourseMap:
    """V1 with b1's criterion c1 describing its levels as ``descriptions`` (level id, text)."""
    rubric = V1.credential("b1").rubric
    c1 = RubricCriterion("c1", "Criterion", "Text", passing, descriptions)
    return with_b1(V1, rubric=replace(rubric, criteria=(c1,)))


LONG = (
    "A description of what this level looks like that is longer than sixty characters, so shown as changed."
)


@pytest.mark.parametrize(
    ("old", "new", "wording"),
    [
        ((), (("pro", "Meets the bar."),), "level pro description added: 'Meets the bar.'"),
        ((), (("pro", LONG),), "level pro description added"),
        ((("dev", "Not yet."),), (), "level dev description removed (was 'Not yet.')"),
        ((("dev", LONG),), (), "level dev description removed"),
        (
            (("pro", "Meets."),),
            (("pro", "Meets the bar."),),
            "level pro description: 'Meets.' -> 'Meets the bar.'",
        ),
        ((("pro", "Meets."),), (("pro", LONG),), "level pro description changed"),
        ((("pro", LONG),), (("pro", LONG + " Now more."),), "level pro description changed"),
    ],
)
def test_a_changed_level_description_names_its_criterion_and_level(
    old: tuple[tuple[str, str], ...], new: tuple[tuple[str, str], ...], wording: str
) -> None:
    assert b1_details(criterion_c1(*old), criterion_c1(*new), "rubric") == (
        f"criterion c1 changed: {wording}",
    )


def test_several_level_descriptions_of_a_criterion_in_the_rubrics_level_order_after_its_other_fields() -> (
    None
):
    old = criterion_c1(("dev", "Not yet."), ("pro", "Meets."))
    new = criterion_c1(("dev", "Not yet, and why."), ("pro", "Meets."), passing="dev")
    assert b1_details(old, new, "rubric") == (
        "criterion c1 changed: passing level: 'pro' -> 'dev'; "
        "level dev description: 'Not yet.' -> 'Not yet, and why.'",
    )
    assert b1_details(criterion_c1(("pro", "Meets.")), criterion_c1(("dev", "Not yet.")), "rubric") == (
        "criterion c1 changed: level dev description added: 'Not yet.'; "
        "level pro description removed (was 'Meets.')",
    )
    # The same descriptions written in another order say the same thing.
    same = criterion_c1(("pro", "Meets."), ("dev", "Not yet."))
    assert b1_details(old, same, "rubric") == ()


POLICIES = st.builds(
    ReviewPolicy, st.integers(1, MAX_PANEL), st.sampled_from(PanelRule), st.sampled_from(TieBreak)
)


def decides(policy: ReviewPolicy) -> tuple[object, ...]:
    """What matters in a policy: its size, its rule when more than one decide, its ties when it can tie."""
    if policy.panel == 1:
        return (1,)
    can_tie = policy.rule is PanelRule.MAJORITY and policy.panel % 2 == 0
    return (policy.panel, policy.rule, policy.ties if can_tie else None)


@given(POLICIES, POLICIES)
def test_any_review_change_is_one_line_with_the_new_panel_and_none_when_they_decide_alike(
    old: ReviewPolicy, new: ReviewPolicy
) -> None:
    details = b1_details(with_b1(V1, review=old), with_b1(V1, review=new), "credential")
    if decides(old) == decides(new):
        assert details == ()
        return
    (line,) = details
    assert "review changed" not in line and line.startswith("review")
    if new.panel == 1:
        assert line.startswith("review removed (one assessor decides): was a panel of ")
    elif old.panel == 1:
        assert line.startswith(f"review added: panel of {new.panel}, {new.rule.value}")
    else:
        panel = f"panel {new.panel}" if old.panel == new.panel else f"panel {old.panel} -> {new.panel}"
        assert line.startswith(f"review: {panel}, decide ")
        assert new.rule.value in line and old.rule.value in line


LEVEL_TEXTS = st.one_of(st.sampled_from(["Not yet.", "Meets.", "Meets the bar."]), st.just(LONG))


@given(
    st.dictionaries(st.sampled_from(["dev", "pro"]), LEVEL_TEXTS),
    st.dictionaries(st.sampled_from(["dev", "pro"]), LEVEL_TEXTS),
)
def test_every_level_whose_description_differs_is_named_once_and_no_other(
    old: dict[str, str], new: dict[str, str]
) -> None:
    details = b1_details(criterion_c1(*old.items()), criterion_c1(*new.items()), "rubric")
    differs = {level for level in ("dev", "pro") if old.get(level) != new.get(level)}
    if not differs:
        assert details == ()
        return
    (line,) = details
    assert line.startswith("criterion c1 changed: ")
    parts = line.removeprefix("criterion c1 changed: ").split("; ")
    assert sorted(p.split()[1] for p in parts) == sorted(differs)
    for part in parts:
        level = part.split()[1]
        if level not in old:
            assert part.startswith(f"level {level} description added")
        elif level not in new:
            assert part.startswith(f"level {level} description removed")
        else:
            assert part.startswith((f"level {level} description: ", f"level {level} description changed"))

"""A learner's course as they started it, and what a new map version changes (domain only, no I/O)."""

from __future__ import annotations

from dataclasses import replace

from lti_tool.domain.completion import progress, stack_complete
from lti_tool.domain.definitions import (
    ArtifactKind,
    ArtifactRequirement,
    CompletionRule,
    CourseMap,
    Credential,
    OverviewQuestion,
    Rubric,
    RubricCriterion,
    RubricLevel,
    Stack,
    SubmissionRequirements,
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

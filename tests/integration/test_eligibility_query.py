"""The set-based completion query agrees with the domain rules, learner by learner."""

from __future__ import annotations

import random

from lti_tool.db.models import Submission
from lti_tool.domain.completion import stack_complete
from lti_tool.services.eligibility import course_eligibility
from lti_tool.services.grants import grant_due
from lti_tool.services.scope import context_course
from tests import scenario


def test_set_based_query_matches_the_domain_rules(db) -> None:  # type: ignore[no-untyped-def]
    for map_dir in sorted((scenario.LEARNING_DIFFERENCES.parent).glob("*/course.yaml")):
        c = scenario.course(db, map_dir.parent, context_id=f"ctx-{map_dir.parent.name}")
        course = c.map()
        with db.read() as session:
            version_id = context_course(session, c.context_id)[2]
        keys = [cr.id for cr in course.credentials]
        rng = random.Random(map_dir.parent.name)
        expected: dict[int, set[str]] = {}
        learners = [c.person(f"L{i}") for i in range(40)]
        with db.transaction() as session:
            for i, learner in enumerate(learners):
                # Everyone for the first few, then random subsets; some submitted-but-not-earned rows too.
                earned = set(keys) if i < 3 else {k for k in keys if rng.random() < 0.75}
                for key in keys:
                    state = "earned" if key in earned else rng.choice(["submitted", "not_yet", "draft"])
                    session.add(
                        Submission(
                            context_id=c.context_id,
                            user_id=learner,
                            course_key=course.id,
                            credential_key=key,
                            map_version_id=version_id,
                            state=state,
                            answers={},
                            reflections={},
                        )
                    )
                expected[learner] = {s.id for s in course.stacks if stack_complete(s, earned)}
        # Grants already recorded for some learners must show as granted, not as due.
        granted_now = {learners[0], learners[5]}
        with db.transaction() as session:
            for learner in granted_now:
                grant_due(
                    session,
                    context_id=c.context_id,
                    user_id=learner,
                    course=course,
                    map_version_id=version_id,
                    actor_user_id=None,
                )
        report = course_eligibility(db, c.context_id)
        got: dict[int, set[str]] = {learner: set() for learner in learners}
        for user_id, stack_key in report.ungranted:
            got[user_id].add(stack_key)
        assert got == {k: (set() if k in granted_now else v) for k, v in expected.items()}
        for stack in course.stacks:
            assert report.complete_stacks[stack.id] == sum(1 for v in expected.values() if stack.id in v)
        assert report.learners_with_a_complete_stack == sum(1 for v in expected.values() if v) >= 3
        if course.award:
            assert report.award_eligible == sum(
                1 for v in expected.values() if set(course.award.stack_ids) <= v
            )

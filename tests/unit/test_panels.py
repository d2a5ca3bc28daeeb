"""A review panel's rule: majority (with its tie rule) and unanimous, at every edge, and as properties."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lti_tool.domain.definitions import MAX_PANEL, PanelRule, ReviewPolicy, TieBreak
from lti_tool.domain.panels import panel_outcome, rule_name, summary
from lti_tool.domain.rubric import Decision

E, N = Decision.EARNED, Decision.NOT_YET


def majority(panel: int, ties: TieBreak = TieBreak.NOT_YET) -> ReviewPolicy:
    return ReviewPolicy(panel, PanelRule.MAJORITY, ties)


def unanimous(panel: int) -> ReviewPolicy:
    return ReviewPolicy(panel, PanelRule.UNANIMOUS)


def test_one_assessor_decides_alone_whatever_the_rule() -> None:
    for policy in (ReviewPolicy(), unanimous(1), majority(1, TieBreak.EARNED)):
        assert panel_outcome(policy, []) is None
        assert panel_outcome(policy, [E]) is E
        assert panel_outcome(policy, [N]) is N
    assert rule_name(ReviewPolicy()) == "single" and rule_name(unanimous(1)) == "single"


@pytest.mark.parametrize(
    ("policy", "decisions", "expected"),
    [
        (majority(3), [E, E], None),  # two of three is a majority already, but the panel is not complete
        (majority(3), [E, E, N], E),
        (majority(3), [N, E, N], N),
        (majority(3), [E, E, E], E),
        (majority(3), [N, N, N], N),
        (majority(2), [E, N], N),  # a tie, sent to not yet
        (majority(2, TieBreak.EARNED), [N, E], E),  # a tie, sent to earned
        (majority(4), [E, E, N, N], N),
        (majority(4, TieBreak.EARNED), [E, N, E, N], E),
        (majority(4, TieBreak.EARNED), [E, N, N, N], N),  # no tie: the rule is the majority's
        (majority(4), [E, E, E, N], E),
        (unanimous(3), [E, E, E], E),
        (unanimous(3), [E, E, N], N),
        (unanimous(3), [N, E, E], N),
        (unanimous(2), [E], None),
        (majority(MAX_PANEL), [E] * 5 + [N] * 4, E),
        (majority(MAX_PANEL), [E] * 4 + [N] * 5, N),
        (majority(MAX_PANEL), [E] * 8, None),
    ],
)
def test_panel_outcome_edges(
    policy: ReviewPolicy, decisions: list[Decision], expected: Decision | None
) -> None:
    assert panel_outcome(policy, decisions) is expected


def test_reviews_beyond_the_panel_do_not_change_the_decision() -> None:
    assert panel_outcome(majority(3), [E, E, N, N, N]) is E
    assert panel_outcome(unanimous(2), [E, E, N]) is E


@pytest.mark.parametrize("panel", [0, -1, MAX_PANEL + 1])
def test_a_panel_is_one_to_nine_reviewers(panel: int) -> None:
    with pytest.raises(ValueError, match="1 to 9"):
        ReviewPolicy(panel)


def test_summaries_say_how_the_panel_decided() -> None:
    assert summary(E, [E, E, N], "majority") == "2 of 3 said earned"
    assert summary("not_yet", ["earned", "not_yet", "not_yet"], "majority") == "2 of 3 said not yet"
    assert summary(N, [E, E, N], "unanimous") == (
        "1 of 3 said not yet; a unanimous panel needed every reviewer to say earned"
    )
    assert summary(E, [E, N], "majority") == "1 of 2 said earned; the map sends a tie to earned"


decisions_st = st.lists(st.sampled_from([E, N]), min_size=0, max_size=MAX_PANEL + 2)
policies = st.builds(
    ReviewPolicy,
    st.integers(1, MAX_PANEL),
    st.sampled_from(list(PanelRule)),
    st.sampled_from(list(TieBreak)),
)


@given(policies, decisions_st)
def test_no_decision_until_the_panel_is_complete(policy: ReviewPolicy, decisions: list[Decision]) -> None:
    outcome = panel_outcome(policy, decisions)
    assert (outcome is None) == (len(decisions) < policy.panel)


@given(policies, decisions_st, st.randoms(use_true_random=False))
def test_the_order_of_a_complete_panel_does_not_matter(
    policy: ReviewPolicy, decisions: list[Decision], rnd: random.Random
) -> None:
    counted = decisions[: policy.panel]
    shuffled = list(counted)
    rnd.shuffle(shuffled)
    assert panel_outcome(policy, shuffled) == panel_outcome(policy, counted)


@given(policies, decisions_st)
def test_the_rules_as_counts(policy: ReviewPolicy, decisions: list[Decision]) -> None:
    outcome = panel_outcome(policy, decisions)
    if outcome is None:
        return
    earned = decisions[: policy.panel].count(E)
    not_yet = policy.panel - earned
    if policy.rule is PanelRule.UNANIMOUS or policy.single:
        assert (outcome is E) == (not_yet == 0)
    elif earned != not_yet:
        assert (outcome is E) == (earned > not_yet)
    else:
        assert outcome.value == policy.ties.value


@given(policies, st.integers(0, MAX_PANEL))
def test_one_more_earned_never_turns_earned_into_not_yet(policy: ReviewPolicy, earned: int) -> None:
    """Monotone: swapping a "not yet" for an "earned" can only help the learner."""
    earned = min(earned, policy.panel)
    before = [E] * earned + [N] * (policy.panel - earned)
    if earned < policy.panel:
        after = [E] * (earned + 1) + [N] * (policy.panel - earned - 1)
        assert not (panel_outcome(policy, before) is E and panel_outcome(policy, after) is N)

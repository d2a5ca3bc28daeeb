"""A review panel's rule: several assessors' independent decisions on one attempt become one decision."""

from __future__ import annotations

from collections.abc import Sequence

from .definitions import PanelRule, ReviewPolicy, TieBreak
from .rubric import Decision


def panel_outcome(policy: ReviewPolicy, decisions: Sequence[Decision]) -> Decision | None:
    """The attempt's decision once all ``policy.panel`` reviews are in; None while some are missing.

    Only the first ``panel`` decisions count: the service stops taking reviews once the attempt is decided,
    so more can only mean a caller's mistake, and the decision must not depend on it.
    """
    if len(decisions) < policy.panel:
        return None
    counted = decisions[: policy.panel]
    earned = sum(1 for d in counted if d is Decision.EARNED)
    not_yet = policy.panel - earned
    if policy.rule is PanelRule.UNANIMOUS:
        return Decision.EARNED if not_yet == 0 else Decision.NOT_YET
    if earned > not_yet:
        return Decision.EARNED
    if not_yet > earned:
        return Decision.NOT_YET
    return Decision.EARNED if policy.ties is TieBreak.EARNED else Decision.NOT_YET


def rule_name(policy: ReviewPolicy) -> str:
    """What the attempt's decision records as its rule: ``single`` for one assessor, else the panel's."""
    return "single" if policy.single else policy.rule.value


def summary(decision: Decision | str, decisions: Sequence[Decision | str], rule: str) -> str:
    """How the learner and the assessors read a panel's decision: "2 of 3 said earned"."""
    said = sum(1 for d in decisions if str(d) == str(decision))
    words = "earned" if str(decision) == Decision.EARNED.value else "not yet"
    if rule == PanelRule.UNANIMOUS.value and said < len(decisions):
        return (
            f"{said} of {len(decisions)} said {words}; a unanimous panel needed every reviewer to say earned"
        )
    if rule == PanelRule.MAJORITY.value and 2 * said == len(decisions):
        return f"{said} of {len(decisions)} said {words}; the map sends a tie to {words}"
    return f"{said} of {len(decisions)} said {words}"

"""An assessor's scores against a rubric become "earned" or "not yet"."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from .definitions import Rubric


class Decision(StrEnum):
    EARNED = "earned"
    NOT_YET = "not_yet"


class ScoringError(ValueError):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class Outcome:
    decision: Decision
    unmet_criteria: tuple[str, ...]


def decide(rubric: Rubric, scores: Mapping[str, str], feedback: str) -> Outcome:
    """Every criterion must be scored with a known level; all met -> earned.

    "Not yet" always carries feedback: a learner must know what to improve.
    """
    known = {c.id for c in rubric.criteria}
    unknown = set(scores) - known
    if unknown:
        raise ScoringError("unknown_criterion", f"Unknown rubric criteria: {', '.join(sorted(unknown))}")
    missing = [c.id for c in rubric.criteria if c.id not in scores]
    if missing:
        raise ScoringError("unscored_criterion", f"Score every criterion; missing: {', '.join(missing)}")
    unmet: list[str] = []
    for criterion in rubric.criteria:
        try:
            given = rubric.level(scores[criterion.id])
        except KeyError:
            raise ScoringError(
                "unknown_level", f"Unknown level {scores[criterion.id]!r} for {criterion.title}"
            ) from None
        if given.rank < rubric.level(criterion.passing_level).rank:
            unmet.append(criterion.id)
    decision = Decision.NOT_YET if unmet else Decision.EARNED
    if decision is Decision.NOT_YET and not feedback.strip():
        raise ScoringError("feedback_required", "A 'not yet' decision needs feedback for the learner.")
    return Outcome(decision, tuple(unmet))

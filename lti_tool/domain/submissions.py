"""Submission states and the only transitions allowed between them.

draft -> submitted -> earned            (terminal)
                   -> not_yet -> (edit) -> submitted ...   (resubmission, a new attempt)
earned -> (revoke) -> not_yet          (misconduct found, or the decision overturned)
"""

from __future__ import annotations

from enum import StrEnum


class SubmissionState(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    NOT_YET = "not_yet"
    EARNED = "earned"


class TransitionError(ValueError):
    """A transition the lifecycle does not allow (stable ``code`` for APIs)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


_ALLOWED: dict[tuple[SubmissionState, str], SubmissionState] = {
    (SubmissionState.DRAFT, "submit"): SubmissionState.SUBMITTED,
    (SubmissionState.NOT_YET, "submit"): SubmissionState.SUBMITTED,
    (SubmissionState.SUBMITTED, "earn"): SubmissionState.EARNED,
    (SubmissionState.SUBMITTED, "not_yet"): SubmissionState.NOT_YET,
    (SubmissionState.EARNED, "revoke"): SubmissionState.NOT_YET,
}

EDITABLE_STATES = frozenset({SubmissionState.DRAFT, SubmissionState.NOT_YET})


def next_state(current: SubmissionState, action: str) -> SubmissionState:
    try:
        return _ALLOWED[(current, action)]
    except KeyError:
        if action == "revoke":
            raise TransitionError("not_earned", "Only an earned micro-credential can be revoked.") from None
        if current is SubmissionState.EARNED:
            raise TransitionError("already_earned", "This micro-credential is already earned.") from None
        if action in ("earn", "not_yet"):
            raise TransitionError("not_submitted", "Only submitted evidence can be assessed.") from None
        if action == "submit":
            raise TransitionError(
                "already_submitted", "This evidence is already waiting for review."
            ) from None
        raise TransitionError("unknown_action", f"Unknown action {action!r}.") from None


def can_edit(state: SubmissionState) -> bool:
    return state in EDITABLE_STATES

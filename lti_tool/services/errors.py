"""Errors services raise; each has a stable ``code`` that views turn into a page or JSON."""

from __future__ import annotations


class ServiceError(Exception):
    status = 400

    def __init__(self, code: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        # The form field the refusal is about, so a page can show the message beside it.
        self.field = field


class NotFound(ServiceError):
    status = 404


class Conflict(ServiceError):
    status = 409


class CourseNotConfigured(ServiceError):
    status = 409

    def __init__(self) -> None:
        super().__init__(
            "course_not_configured",
            "This course is not linked to a micro-credential course map yet. "
            "Ask the course designer to choose one.",
        )


class EvidenceIncomplete(ServiceError):
    status = 422

    def __init__(self, problems: list[str]) -> None:
        super().__init__("evidence_incomplete", "Some required evidence is missing.")
        self.problems = problems


class WordLimitExceeded(ServiceError):
    """Answers or reflections longer than their map's ``max_words``; nothing was saved."""

    status = 422

    def __init__(self, problems: list[str]) -> None:
        super().__init__(
            "too_many_words",
            "Nothing was saved: some text is longer than its word limit. Everything you typed is still here.",
        )
        self.problems = problems

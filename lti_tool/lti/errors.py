"""A refused LTI request: which check failed, a stable code, and a message a person can act on."""

from __future__ import annotations


class LtiRefused(Exception):
    def __init__(self, check: str, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.check = check
        self.code = code
        self.message = message
        self.status = status

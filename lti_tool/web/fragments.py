"""Small HTML fragments a page repeats once per row, built in Python rather than as Jinja macros: a macro
call costs several times a function call, and the learner's progress page (which a launch answers with)
shows a state badge for every micro-credential. The markup is the same the macros wrote."""

from __future__ import annotations

from enum import Enum

from markupsafe import Markup

# A submission state's wording on the learner's pages.
STATE_LABELS = {"draft": "draft", "submitted": "submitted", "not_yet": "not yet", "earned": "earned"}
_NOT_STARTED = Markup('<span class="state not_started">not started</span>')


def state_badge(state: Enum | None) -> Markup:
    """A submission's state as a badge; None (nothing submitted or drafted) is "not started"."""
    if state is None:
        return _NOT_STARTED
    value = state.value
    return Markup('<span class="state {}">{}</span>').format(value, STATE_LABELS.get(value, ""))

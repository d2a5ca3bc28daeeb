"""Small HTML fragments a page repeats once per row, built in Python rather than as Jinja macros: a macro
call costs several times a function call, and the learner's progress page (which a launch answers with)
shows a progress bar, a CEU line and a table row for every micro-credential of every stack. The markup is,
byte for byte, what the macros of ``learner/_macros.html`` wrote (they now delegate here).

What depends only on a stack's definition (its rule in words, its pending CEU line, the escaped titles
of its credentials) is kept, bounded, keyed by the definitions themselves: equal values give equal
markup, and no learner's data is ever part of it. What depends on the learner (earned counts, grants,
states, attempts) and on the request (the session token links carry) is written each time.
"""

from __future__ import annotations

from enum import Enum
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from markupsafe import Markup, escape

from ..domain.ceu import ceus_for_hours
from ..domain.completion import StackRule, describe_rule
from ..domain.definitions import Stack
from .auth import urls

if TYPE_CHECKING:
    from ..services.progress import StackProgress

# A submission state's wording on the learner's pages.
STATE_LABELS = {"draft": "draft", "submitted": "submitted", "not_yet": "not yet", "earned": "earned"}
_NOT_STARTED = Markup('<span class="state not_started">not started</span>')
# Bounds of the caches below: a few course maps' stacks and credentials, several versions of each.
_STACKS_MAX = 1024
_ROWS_MAX = 8192


def state_badge(state: Enum | None) -> Markup:
    """A submission's state as a badge; None (nothing submitted or drafted) is "not started"."""
    if state is None:
        return _NOT_STARTED
    return _badge(state.value)


@lru_cache(maxsize=64)
def _badge(value: str) -> Markup:
    return Markup(f'<span class="state {escape(value)}">{escape(STATE_LABELS.get(value, ""))}</span>')


def hours(value: Any) -> str:
    """Contact hours as pages write them: up to two decimals, no trailing zeros (10, 7.5, 0.25)."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = 0.0
    return f"{number:.2f}".rstrip("0").rstrip(".")


@lru_cache(maxsize=_STACKS_MAX)
def stack_rule(stack: Stack) -> StackRule:
    """``describe_rule``, once per stack definition: every learner page states each stack's rule."""
    return describe_rule(stack)


def stack_bar(p: StackProgress) -> Markup:
    """A stack's progress bar: how many of the credentials its rule needs the learner has earned."""
    earned, needed = p.earned, p.needed
    return Markup(
        f'<div class="stack-progress">\n  <progress max="{needed}" value="{earned}" '
        f'aria-label="{escape(p.stack.title)} progress"></progress>\n'
        f'  <span class="count"><strong>{earned} of {needed}</strong> earned</span>\n</div>'
    )


def stack_ceus(p: StackProgress) -> Markup:
    """The stack's CEUs: when they were granted to the learner, or what its rule grants."""
    grant = p.grant
    if grant is None:
        return _pending_ceus(p.stack)
    return Markup(
        f'\n<p class="ceu granted">CEUs granted: <strong>{escape(grant.ceus)} CEU</strong> '
        f"({escape(hours(grant.contact_hours))} contact hours) on "
        f"{escape(grant.granted_at.strftime('%d %B %Y'))}.</p>\n"
    )


@lru_cache(maxsize=_STACKS_MAX)
def _pending_ceus(stack: Stack) -> Markup:
    return Markup(
        f'\n<p class="ceu pending muted">{escape(ceus_for_hours(stack.contact_hours))} CEU '
        f"({escape(hours(stack.contact_hours))} contact hours) "
        f"when {escape(stack_rule(stack).condition)}.</p>\n"
    )


def credential_rows(p: StackProgress) -> Markup:
    """Each credential of the stack with the learner's state of it; in a stack with electives, whether it
    is required or an elective (and the rule about electives above the table)."""
    rule = stack_rule(p.stack)
    electives = rule.has_electives
    statuses = p.credentials
    hrefs = urls("learner.credential", "key", [s.credential.id for s in statuses])
    parts = [_table_head(p.stack) if electives else _TABLE_HEAD]
    for status, href in zip(statuses, hrefs, strict=True):
        credential = status.credential
        head, tail = _row(credential.id, credential.title, rule.role(credential.id) if electives else None)
        attempt = f'<span class="muted">· attempt {status.attempt}</span>' if status.attempt > 1 else ""
        badge = state_badge(status.state)
        parts.append(f"{head}{escape(href)}{tail}{attempt}</td>\n      <td>{badge}</td>\n    </tr>\n  ")
    parts.append("\n  </tbody>\n</table>")
    return Markup("".join(parts))


_TABLE = (
    '\n<table class="credentials">\n  <thead><tr><th>Micro-credential</th><th>State</th></tr></thead>\n'
    "  <tbody>\n  "
)
_TABLE_HEAD = "\n" + _TABLE


@lru_cache(maxsize=_STACKS_MAX)
def _table_head(stack: Stack) -> str:
    """The rule about electives, then the table's head."""
    return (
        f'\n<p class="stack-rule" data-stack-rule="{escape(stack.id)}">All of the <strong>required</strong> '
        f"micro-credentials, plus any {stack_rule(stack).choose} of the <strong>electives</strong>.</p>"
        + _TABLE
    )


@lru_cache(maxsize=_ROWS_MAX)
def _row(credential_id: str, title: str, role: str | None) -> tuple[str, str]:
    """A row's markup before its link's URL, and from the URL to the attempt (both escaped). ``role``:
    None where the stack has no electives (no role is shown)."""
    shown = "" if role is None else f'<span class="rule-role {escape(role)}">{escape(role)}</span>'
    return (
        f'\n    <tr data-credential="{escape(credential_id)}">\n      <td><a href="',
        f'">{escape(title)}</a>\n        {shown}\n        ',
    )

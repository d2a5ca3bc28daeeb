"""What a Deep Linking answer places, and which placements get a gradebook column.

A stack's score already counts its credentials, so a stack *and* its credentials placed as graded
activities count the same work twice (one credential earned read as 100 % of a stack and of a credential).
For each placed stack the designer chooses one of two gradings; the default counts the work once:

- ``GRADE_STACK``: the stack's activity is graded; its credentials placed with it have no grade column.
- ``GRADE_CREDENTIALS``: each of its credentials placed is graded; the stack's activity has no column.

A credential placed without any of its stacks is graded.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from .definitions import CourseMap, Credential, Stack

STACK = "stack"
CREDENTIAL = "credential"
GRADE_STACK = "stack"
GRADE_CREDENTIALS = "credentials"
GRADINGS = (GRADE_STACK, GRADE_CREDENTIALS)
# The custom parameter an ungraded item carries: a launch of it cannot otherwise tell "placed without a
# column on purpose" from a platform that expects the tool to make its column (Open edX).
UNGRADED_PARAM = "gradebook"
UNGRADED_VALUE = "none"


@dataclass(frozen=True)
class Placement:
    kind: str  # STACK | CREDENTIAL
    key: str
    graded: bool


@dataclass(frozen=True)
class StackGroup:
    """A stack and the credentials listed under it in the picker (each credential under its first stack)."""

    stack: Stack
    credentials: tuple[Credential, ...]


@dataclass(frozen=True)
class PickerGroups:
    stacks: tuple[StackGroup, ...]
    loose: tuple[Credential, ...]  # credentials in no stack


def picker_groups(course: CourseMap) -> PickerGroups:
    """The course's credentials grouped under their stacks, in map order; each credential appears once."""
    seen: set[str] = set()
    groups = []
    for stack in course.stacks:
        mine = tuple(course.credential(cid) for cid in stack.credential_ids if cid not in seen)
        seen.update(cr.id for cr in mine)
        groups.append(StackGroup(stack, mine))
    loose = tuple(cr for cr in course.credentials if cr.id not in seen)
    return PickerGroups(tuple(groups), loose)


def placements(
    course: CourseMap, picked: Iterable[tuple[str, str]], gradings: Mapping[str, str]
) -> list[Placement]:
    """The picked (kind, key) items in order, each once, with whether it gets a grade column.

    ``gradings`` maps a stack id to ``GRADE_STACK`` or ``GRADE_CREDENTIALS``; a stack without an entry is
    graded as a stack (the default). Unknown items raise ``KeyError``.
    """
    items = list(dict.fromkeys(picked))
    for kind, key in items:
        if kind == STACK:
            course.stack(key)
        elif kind == CREDENTIAL:
            course.credential(key)
        else:
            raise KeyError(f"{kind}:{key}")
    graded_stacks = {
        key for kind, key in items if kind == STACK and gradings.get(key, GRADE_STACK) == GRADE_STACK
    }
    # Credentials whose work a graded stack placed in the same answer already counts.
    counted = {cid for s in course.stacks if s.id in graded_stacks for cid in s.credential_ids}
    return [
        Placement(kind, key, key in graded_stacks if kind == STACK else key not in counted)
        for kind, key in items
    ]

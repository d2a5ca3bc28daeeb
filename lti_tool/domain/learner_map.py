"""A learner's course map: the live version, with each stack they started as it was when they started it.

A learner is judged by the map version under which they started a stack (their first evidence action on
any of its credentials): a credential added to the stack later does not raise their bar, one removed later
is still theirs to earn. A new version applies to them when they start the stack after it is published, or
when a course designer moves them on. Stacks they have not started follow the live version.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from .definitions import CourseMap, Credential, Stack


def as_started(live: CourseMap, started: Mapping[str, CourseMap]) -> CourseMap:
    """``live`` with each stack in ``started`` (stack id -> the older map version the learner started it
    under) replaced by that version's definition of it; the credentials of those stacks come from the same
    version, so their evidence is asked for and judged as it was. Units, the award and the order of the
    stacks stay the live version's; a stack the live version no longer has is not part of the course."""
    stacks: list[Stack] = []
    credentials: dict[str, Credential] = {}
    for stack in live.stacks:
        version = started.get(stack.id)
        if version is None:
            stacks.append(stack)
            continue
        try:
            then = version.stack(stack.id)
        except KeyError:  # not recorded from this version; the live definition is the only one there is
            stacks.append(stack)
            continue
        stacks.append(then)
        for credential_id in then.credential_ids:
            credentials.setdefault(credential_id, version.credential(credential_id))
    if all(a is b for a, b in zip(stacks, live.stacks, strict=True)):
        return live
    merged = [credentials.pop(c.id, c) for c in live.credentials]
    return replace(live, stacks=tuple(stacks), credentials=(*merged, *credentials.values()))


def credential_source(live: CourseMap, started: Mapping[str, CourseMap], credential_id: str) -> str | None:
    """The id of the stack whose started version defines ``credential_id`` for this learner (the first such
    stack of the live order), or None when the live version does."""
    for stack in live.stacks:
        version = started.get(stack.id)
        if version is None:
            continue
        try:
            if credential_id in version.stack(stack.id).credential_ids:
                return stack.id
        except KeyError:
            continue
    return None

"""Which Deep Linking placements get a grade column: a stack and its credentials never both by default."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lti_tool.domain.definitions import CompletionRule, CourseMap, Stack
from lti_tool.domain.placements import (
    CREDENTIAL,
    GRADE_CREDENTIALS,
    GRADE_STACK,
    STACK,
    Placement,
    picker_groups,
    placements,
)
from tests.unit.test_domain_rules import _course, _credential


def _shared_course() -> CourseMap:
    """Two stacks sharing credential ``x``, and a credential ``loose`` in no stack."""
    ids = ("a", "x", "b", "loose")
    return CourseMap(
        id="c",
        title="C",
        version="1",
        units=(),
        stacks=(
            Stack("s1", "One", "", ("a", "x"), CompletionRule(frozenset({"a", "x"})), 10),
            Stack("s2", "Two", "", ("x", "b"), CompletionRule(frozenset({"x", "b"})), 10),
        ),
        credentials=tuple(_credential(i) for i in ids),
    )


def test_stack_graded_by_default_and_its_credentials_placed_without_a_column() -> None:
    course = _course()
    placed = placements(course, [(STACK, "s0"), (CREDENTIAL, "s0c1"), (CREDENTIAL, "s1c0")], {})
    assert placed == [
        Placement(STACK, "s0", True),
        Placement(CREDENTIAL, "s0c1", False),  # its stack is graded: counted once
        Placement(CREDENTIAL, "s1c0", True),  # its stack is not placed
    ]


def test_grading_each_credential_takes_the_column_off_the_stack() -> None:
    course = _course()
    placed = placements(course, [(STACK, "s0"), (CREDENTIAL, "s0c1")], {"s0": GRADE_CREDENTIALS})
    assert placed == [Placement(STACK, "s0", False), Placement(CREDENTIAL, "s0c1", True)]
    assert placements(course, [(STACK, "s0")], {"s0": GRADE_STACK}) == [Placement(STACK, "s0", True)]


def test_a_shared_credential_is_counted_by_any_graded_stack_placed_with_it() -> None:
    course = _shared_course()
    placed = placements(course, [(STACK, "s1"), (STACK, "s2"), (CREDENTIAL, "x")], {"s1": GRADE_CREDENTIALS})
    assert placed == [
        Placement(STACK, "s1", False),
        Placement(STACK, "s2", True),
        Placement(CREDENTIAL, "x", False),
    ]


def test_duplicates_are_placed_once_and_unknown_items_refused() -> None:
    course = _course()
    assert placements(course, [(STACK, "s0"), (STACK, "s0")], {}) == [Placement(STACK, "s0", True)]
    for bad in [(STACK, "nope"), (CREDENTIAL, "nope"), ("unit", "u0")]:
        with pytest.raises(KeyError):
            placements(course, [bad], {})


def test_picker_groups_each_credential_once_under_its_first_stack() -> None:
    groups = picker_groups(_shared_course())
    assert [(g.stack.id, [c.id for c in g.credentials]) for g in groups.stacks] == [
        ("s1", ["a", "x"]),
        ("s2", ["b"]),
    ]
    assert [c.id for c in groups.loose] == ["loose"]


@given(
    st.lists(
        st.tuples(st.sampled_from([STACK, CREDENTIAL]), st.integers(0, 2), st.integers(0, 4)), max_size=12
    ),
    st.dictionaries(st.sampled_from(["s0", "s1", "s2"]), st.sampled_from([GRADE_STACK, GRADE_CREDENTIALS])),
)
def test_no_credential_is_ever_graded_twice(
    picks: list[tuple[str, int, int]], gradings: dict[str, str]
) -> None:
    """Whatever is picked and however each stack is graded, each credential's work has at most one column."""
    course = _course()
    items = [(kind, f"s{s}" if kind == STACK else f"s{s}c{c}") for kind, s, c in picks]
    graded = [p for p in placements(course, items, gradings) if p.graded]
    for credential in course.credentials:
        columns = sum(
            1
            for p in graded
            if (p.kind == CREDENTIAL and p.key == credential.id)
            or (p.kind == STACK and credential.id in course.stack(p.key).credential_ids)
        )
        assert columns <= 1

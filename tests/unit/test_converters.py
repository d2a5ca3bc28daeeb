"""The ``<id:...>`` URL converter's range regex (lti_tool/web/converters.py)."""

from __future__ import annotations

import re

import pytest

from lti_tool.web.converters import MAX_ID, positive_up_to


@pytest.mark.parametrize("limit", [1, 5, 9, 10, 11, 19, 20, 99, 100, 101, 305, 999, 1000, 2024])
def test_positive_up_to_matches_exactly_one_to_limit(limit: int) -> None:
    pattern = re.compile(positive_up_to(limit) + r"\Z")
    matched = {n for n in range(0, limit + 200) if pattern.match(str(n))}
    assert matched == set(range(1, limit + 1))


@pytest.mark.parametrize(
    ("value", "matches"),
    [
        ("1", True),
        ("99999999", True),
        ("1999999999", True),
        ("2147483639", True),
        (str(MAX_ID), True),
        (str(MAX_ID + 1), False),
        ("2147483650", False),
        ("9999999999", False),
        ("99999999999999999999", False),
        ("0", False),
        ("007", False),
        ("-1", False),
        ("", False),
    ],
)
def test_id_regex_stops_at_the_integer_column_range(value: str, matches: bool) -> None:
    assert MAX_ID == 2**31 - 1
    assert bool(re.fullmatch(positive_up_to(MAX_ID), value)) is matches

"""AGS pure pieces: service URLs with Moodle's query strings, scores per state, scopes, Retry-After."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from lti_tool.lti.ags import (
    credential_score,
    resource_id,
    service_url,
    stack_score,
    token_scopes,
    with_query,
)
from lti_tool.lti.service_token import (
    SCOPE_LINEITEM,
    SCOPE_LINEITEM_READONLY,
    SCOPE_SCORE,
    retry_after_seconds,
    scope_key,
)

TS = "2026-11-23T09:42:18.123000+00:00"


@pytest.mark.parametrize(
    ("lineitem", "expected"),
    [
        (
            "http://moodle.example/mod/lti/services.php/2/lineitems/2/lineitem?type_id=1",
            "http://moodle.example/mod/lti/services.php/2/lineitems/2/lineitem/scores?type_id=1",
        ),
        (
            "https://canvas.example/api/lti/courses/1/line_items/7",
            "https://canvas.example/api/lti/courses/1/line_items/7/scores",
        ),
        ("https://lms.example/items/7/?a=1&b=2", "https://lms.example/items/7/scores?a=1&b=2"),
    ],
)
def test_scores_segment_goes_before_the_query_string(lineitem: str, expected: str) -> None:
    assert service_url(lineitem, "scores") == expected


def test_container_query_keeps_type_id() -> None:
    url = with_query(
        "http://moodle.example/mod/lti/services.php/2/lineitems?type_id=1", resource_id="stack:S1"
    )
    assert url == "http://moodle.example/mod/lti/services.php/2/lineitems?type_id=1&resource_id=stack%3AS1"


def payload(state: str, comment: str = "") -> dict[str, object]:
    return {"state": state, "comment": comment, "timestamp": TS, "credential_key": "C1", "title": "C1"}


def test_earned_is_full_marks_and_complete() -> None:
    assert credential_score(payload("earned", "Strong."), "4") == {
        "userId": "4",
        "timestamp": TS,
        "comment": "Strong.",
        "scoreGiven": 1,
        "scoreMaximum": 1,
        "activityProgress": "Completed",
        "gradingProgress": "FullyGraded",
    }


def test_submitted_waits_for_manual_grading_without_a_score() -> None:
    score = credential_score(payload("submitted"), "4")
    assert score == {
        "userId": "4",
        "timestamp": TS,
        "activityProgress": "Submitted",
        "gradingProgress": "PendingManual",
    }


def test_not_yet_is_graded_zero_with_the_assessors_comment_and_back_in_progress() -> None:
    score = credential_score(payload("not_yet", "Add a classroom video."), "4")
    assert (score["scoreGiven"], score["scoreMaximum"]) == (0, 1)
    assert (score["activityProgress"], score["gradingProgress"]) == ("InProgress", "FullyGraded")
    assert score["comment"] == "Add a classroom video."


def test_unknown_state_is_refused() -> None:
    with pytest.raises(ValueError):
        credential_score(payload("draft"), "4")


def stack(earned: int, required: int, granted: bool, ceus: str | None = None) -> dict[str, object]:
    return {
        "earned_count": earned,
        "required_count": required,
        "granted": granted,
        "ceus": ceus,
        "timestamp": TS,
    }


def test_stack_progress_is_a_fully_graded_number_that_grows_with_each_credential() -> None:
    """Moodle keeps only FullyGraded scores: a stack's column shows credentials earned out of those needed
    from the first one on, InProgress until the stack is complete, then Completed."""
    none = stack_score(stack(0, 3, False), "4")
    assert (none["scoreGiven"], none["scoreMaximum"], none["activityProgress"], none["gradingProgress"]) == (
        0,
        3,
        "InProgress",
        "FullyGraded",
    )
    some = stack_score(stack(2, 3, False), "4")
    assert (some["scoreGiven"], some["scoreMaximum"]) == (2, 3)
    assert (some["activityProgress"], some["gradingProgress"]) == ("InProgress", "FullyGraded")
    assert some["comment"] == "2 of 3 credentials earned"
    done = stack_score(stack(3, 3, True, "1.5"), "4")
    assert (done["scoreGiven"], done["activityProgress"], done["gradingProgress"]) == (
        3,
        "Completed",
        "FullyGraded",
    )
    assert "1.5 CEUs" in done["comment"]


def test_token_scopes_are_only_those_the_claim_offers() -> None:
    lineitem, readonly, score = SCOPE_LINEITEM, SCOPE_LINEITEM_READONLY, SCOPE_SCORE
    results = "https://purl.imsglobal.org/spec/lti-ags/scope/result.readonly"
    assert token_scopes(frozenset({lineitem, readonly, results, score})) == (lineitem, score)
    assert token_scopes(frozenset({score})) == (score,)
    assert token_scopes(frozenset({readonly, score})) == (readonly, score)
    assert token_scopes(frozenset()) == ()


def test_retry_after_seconds_and_dates() -> None:
    assert retry_after_seconds("120") == 120
    assert retry_after_seconds(None, default=7) == 7
    assert retry_after_seconds("not a date", default=9) == 9
    later = format_datetime(datetime.now(UTC) + timedelta(seconds=90), usegmt=True)
    assert 80 <= retry_after_seconds(later) <= 91


def test_scope_key_ignores_order_and_duplicates() -> None:
    assert scope_key(["b", "a", "a"]) == scope_key(["a", "b"]) != scope_key(["a"])
    assert resource_id("stack", "S1") == "stack:S1"

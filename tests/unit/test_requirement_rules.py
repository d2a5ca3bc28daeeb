"""What a course map's requirements mean, without I/O: word limits, what an artifact accepts (files, links,
video links), and the one wording of a stack's completion rule."""

from __future__ import annotations

import pytest

from lti_tool.domain.completion import describe_rule
from lti_tool.domain.definitions import (
    ArtifactInput,
    ArtifactKind,
    ArtifactRequirement,
    CompletionRule,
    OverviewQuestion,
    ReflectionPrompt,
    Stack,
    SubmissionRequirements,
    default_accepts,
)
from lti_tool.domain.evidence import missing_evidence, over_word_limits, word_count
from lti_tool.domain.links import describe_accepts, is_video_link, link_refusal

FILE, LINK, VIDEO = ArtifactInput.FILE, ArtifactInput.LINK, ArtifactInput.VIDEO_LINK

# --- word limits -----------------------------------------------------------------------------------------

LIMITED = SubmissionRequirements(
    overview_questions=(OverviewQuestion("setting", "Which lesson?", min_words=2, max_words=5),),
    artifacts=(),
    reflection_prompts=(ReflectionPrompt("next", "What next?", max_words=3),),
)


def test_over_word_limits_names_each_text_and_by_how_much() -> None:
    assert over_word_limits(LIMITED, {"setting": "one two three four five"}, {"next": "a b c"}) == []
    problems = over_word_limits(LIMITED, {"setting": "one two three four five six"}, {"next": "a  b\nc d e"})
    assert problems == [
        "The answer to 'Which lesson?' has 6 words; the limit is 5. Shorten it by 1 word.",
        "The reflection 'What next?' has 5 words; the limit is 3. Shorten it by 2 words.",
    ]


def test_missing_evidence_includes_texts_over_their_limit() -> None:
    assert missing_evidence(LIMITED, {"setting": "one two"}, {"next": "fine"}, []) == []
    too_long = missing_evidence(LIMITED, {"setting": "one two"}, {"next": "a b c d"}, [])
    assert too_long == ["The reflection 'What next?' has 4 words; the limit is 3. Shorten it by 1 word."]
    # the minimum still applies beside the maximum
    assert missing_evidence(LIMITED, {"setting": "one"}, {"next": "x"}, []) == [
        "The answer to 'Which lesson?' needs at least 2 words."
    ]


def test_word_count_is_runs_of_non_space() -> None:
    assert word_count("") == 0 and word_count("  \n ") == 0
    assert word_count(" plan,  do;\treview\u00a0again ") == 4


# --- what an artifact accepts ----------------------------------------------------------------------------


def test_default_accepts_by_kind() -> None:
    assert default_accepts(ArtifactKind.LINK) == {LINK}
    assert default_accepts(ArtifactKind.CLASSROOM_VIDEO) == {FILE, VIDEO}
    for kind in (
        ArtifactKind.DOCUMENT,
        ArtifactKind.LESSON_PLAN,
        ArtifactKind.STUDENT_WORK,
        ArtifactKind.OTHER,
    ):
        assert default_accepts(kind) == {FILE, LINK}
    # a requirement without ``accepts`` takes its kind's default; one with it takes exactly that
    assert ArtifactRequirement("v", ArtifactKind.CLASSROOM_VIDEO, "Video").accepts == {FILE, VIDEO}
    assert ArtifactRequirement("d", ArtifactKind.DOCUMENT, "Doc", accepts=frozenset({FILE})).accepts == {FILE}


@pytest.mark.parametrize(
    "url",
    [
        "https://www.youtube.com/watch?v=abc123",
        "https://youtu.be/abc123",
        "https://m.youtube.com/watch?v=abc123",
        "https://vimeo.com/123456",
        "https://player.vimeo.com/video/123456",
        "https://contoso.sharepoint.com/:v:/s/teachers/EabC",
        "https://contoso-my.sharepoint.com/personal/t_contoso/_layouts/15/stream.aspx?id=1",
        "https://web.microsoftstream.com/video/1234",
        "https://drive.google.com/file/d/1abc/view",
        "https://mediaspace.kaltura.com/media/t/1_abc",
        "https://school.hosted.panopto.com/Panopto/Pages/Viewer.aspx?id=1",
        "https://www.loom.com/share/abc",
        "https://files.school.example/videos/lesson-3.MP4",
        "https://cdn.example/lesson.webm?token=1",
        "https://cdn.example/lesson.mov#t=30",
    ],
)
def test_video_links(url: str) -> None:
    assert is_video_link(url)
    assert link_refusal({VIDEO}, url) is None


@pytest.mark.parametrize(
    "url",
    [
        "https://docs.google.com/document/d/1abc/edit",
        "https://school.example/lesson-plan.pdf",
        "https://notyoutube.com/watch?v=abc",
        "https://youtube.com.evil.example/watch",
        "https://cdn.example/lesson.mp4.html",
        "https://example.com/videos/",
    ],
)
def test_not_video_links(url: str) -> None:
    assert not is_video_link(url)
    refusal = link_refusal({FILE, VIDEO}, url)
    assert refusal is not None and refusal.code == "not_a_video_link"
    assert "This requirement takes a video" in refusal.message and "YouTube" in refusal.message
    assert link_refusal({FILE, LINK}, url) is None  # any link where any link is taken


def test_a_file_only_requirement_refuses_every_link() -> None:
    refusal = link_refusal({FILE}, "https://www.youtube.com/watch?v=abc")
    assert refusal is not None and refusal.code == "file_only"
    assert refusal.message == "This requirement takes an uploaded file, not a link: upload the file itself."


def test_describe_accepts() -> None:
    assert describe_accepts({FILE, LINK}) == "an uploaded file or a link"
    assert describe_accepts({VIDEO, FILE}) == "an uploaded file or a video link"
    assert describe_accepts({LINK}) == "a link"


# --- a stack's rule in words ------------------------------------------------------------------------------


def _stack(ids: tuple[str, ...], required: tuple[str, ...], choose: int = 0) -> Stack:
    electives = frozenset(ids) - frozenset(required) if choose else frozenset()
    return Stack("s", "S", "", ids, CompletionRule(frozenset(required), electives, choose), 10)


def test_rule_all_reads_every_credential() -> None:
    rule = describe_rule(_stack(("a", "b", "c"), ("a", "b", "c")))
    assert rule.condition == "all 3 micro-credentials of this stack are earned"
    assert not rule.has_electives and rule.role("b") == "required"
    assert describe_rule(_stack(("a",), ("a",))).condition == "its one micro-credential is earned"


def test_rule_required_plus_choose_names_required_and_electives() -> None:
    rule = describe_rule(_stack(("a", "b", "c", "d", "e"), ("a", "b"), choose=1))
    assert rule.condition == (
        "the 2 required micro-credentials of this stack are earned, plus any 1 of its 3 electives"
    )
    assert (rule.required, rule.electives, rule.choose) == (("a", "b"), ("c", "d", "e"), 1)
    assert [rule.role(c) for c in "abcdez"] == ["required"] * 2 + ["elective"] * 3 + [""]
    one = describe_rule(_stack(("a", "b", "c"), ("a",), choose=2))
    assert one.condition == "its required micro-credential is earned, plus all 2 electives"
    assert describe_rule(_stack(("a", "b", "c"), (), choose=2)).condition == (
        "any 2 of its 3 micro-credentials are earned"
    )

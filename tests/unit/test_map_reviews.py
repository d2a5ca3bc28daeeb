"""Course map rubric level descriptions and review panels: read from the files, validated at file and line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lti_tool.domain.definitions import PanelRule, ReviewPolicy, TieBreak
from lti_tool.maps import course_map_from_document, read_course_map, validate_course_map

from .test_map_validation import LD, MAPS, copy_map, edit, errors_in, line_of, the_error

EF_DATA = "credentials/ef-data-driven-decision-making.yaml"


def test_every_shipped_learning_differences_criterion_describes_every_level() -> None:
    course = read_course_map(MAPS / LD).course_map
    for credential in course.credentials:
        level_ids = [lv.id for lv in credential.rubric.levels]
        for criterion in credential.rubric.criteria:
            assert [lv for lv, _ in criterion.level_descriptions] == level_ids, (credential.id, criterion.id)
            assert all(criterion.describe(lv) for lv in level_ids)
    analysis = course.credential("ef-data-driven-decision-making").rubric.criteria[1]
    assert analysis.describe("proficient").startswith("Before and after data are compared accurately")
    assert analysis.describe("no-such-level") == ""


def test_level_descriptions_are_optional_and_kept_in_rubric_order(tmp_path: Path) -> None:
    root = copy_map(tmp_path)
    before = read_course_map(root)
    # The order in the file does not matter: the document lists them in the rubric's order.
    file = root / EF_DATA
    text = file.read_text()
    start = text.index("      levels:\n", text.index("id: analysis"))
    block = text[start : text.index("    - id: decision-making")]
    developing, proficient, exemplary = block.splitlines()[1:4]
    file.write_text(text.replace(block, "\n".join(["      levels:", exemplary, developing, proficient, ""])))
    assert validate_course_map(root) == []
    assert read_course_map(root).content_hash == before.content_hash
    # Leaving some out is allowed: the page shows nothing for them.
    file.write_text(text.replace(block, "\n".join(["      levels:", proficient, ""])))
    assert validate_course_map(root) == []
    course = read_course_map(root).course_map
    analysis = course.credential("ef-data-driven-decision-making").rubric.criteria[1]
    assert [lv for lv, _ in analysis.level_descriptions] == ["proficient"]
    assert analysis.describe("developing") == ""


def test_a_description_of_a_level_the_rubric_lacks_is_an_error_at_its_line(tmp_path: Path) -> None:
    root = copy_map(tmp_path)
    line = edit(root / EF_DATA, "        developing: A measure", "        excellent: A measure")
    error = the_error(root, "'excellent' is not one of the rubric levels")
    assert error.file.endswith("ef-data-driven-decision-making.yaml")
    assert error.line == line == line_of(root / EF_DATA, r"^        excellent:")
    assert "developing, proficient, exemplary" in error.message


def test_an_empty_level_description_is_a_schema_error(tmp_path: Path) -> None:
    root = copy_map(tmp_path)
    text = (root / EF_DATA).read_text()
    first = text.index("        developing: ")
    end = text.index("\n", first)
    (root / EF_DATA).write_text(text[:first] + '        developing: ""' + text[end:])
    assert errors_in(root), "an empty description must be refused"
    assert any(e.line == line_of(root / EF_DATA, r'^        developing: ""') for e in errors_in(root))


def test_a_format_2_document_reads_without_level_descriptions() -> None:
    document = json.loads(json.dumps(read_course_map(MAPS / LD).document))
    document["format"] = 2
    for credential in document["credentials"]:
        for criterion in credential["rubric"]["criteria"]:
            del criterion["levels"]
    old = course_map_from_document(document)
    assert all(c.level_descriptions == () for cred in old.credentials for c in cred.rubric.criteria)


# --- review panels ----------------------------------------------------------------------------------

EF_PEERS = "credentials/ef-engaging-your-peers.yaml"
EF_STACK_RULE = "    completion:\n      rule: all  # CEUs need every micro-credential of the stack\n"


def _policy(root: Path, credential: str) -> ReviewPolicy:
    return read_course_map(root).course_map.credential(credential).review


def test_by_default_one_assessor_decides() -> None:
    loaded = read_course_map(MAPS / LD)
    assert all(c.review == ReviewPolicy() and c.review.single for c in loaded.course_map.credentials)
    assert all(
        c["review"] == {"panel": 1, "decide": "majority", "ties": "not_yet"}
        for c in loaded.document["credentials"]
    )


def test_a_stacks_review_applies_to_its_credentials_and_a_credentials_own_overrides_it(
    tmp_path: Path,
) -> None:
    root = copy_map(tmp_path)
    edit(root / "course.yaml", EF_STACK_RULE, EF_STACK_RULE + "    review: {panel: 3, decide: unanimous}\n")
    edit(
        root / EF_PEERS,
        "example_content: true\n",
        "example_content: true\nreview:\n  panel: 2\n  ties: earned\n",
    )
    assert validate_course_map(root) == []
    course = read_course_map(root).course_map
    assert course.credential("ef-foundations-of-practice").review == ReviewPolicy(3, PanelRule.UNANIMOUS)
    assert course.credential("ef-engaging-your-peers").review == ReviewPolicy(
        2, PanelRule.MAJORITY, TieBreak.EARNED
    )
    assert course.credential("lm-foundations-of-practice").review == ReviewPolicy()


def test_what_cannot_matter_does_not_change_the_hash(tmp_path: Path) -> None:
    root = copy_map(tmp_path)
    before = read_course_map(root).content_hash
    edit(
        root / EF_PEERS,
        "example_content: true\n",
        "example_content: true\nreview: {panel: 1, decide: unanimous}\n",
    )
    assert validate_course_map(root) == []
    assert read_course_map(root).content_hash == before  # one assessor: the rule cannot matter
    edit(root / EF_PEERS, "review: {panel: 1, decide: unanimous}", "review: {panel: 3}")
    three = read_course_map(root).content_hash
    assert three != before
    edit(root / EF_PEERS, "review: {panel: 3}", "review: {panel: 3, decide: majority}")
    assert read_course_map(root).content_hash == three  # majority is the default


def test_a_majority_of_an_even_panel_must_say_where_ties_go(tmp_path: Path) -> None:
    root = copy_map(tmp_path)
    edit(root / EF_PEERS, "example_content: true\n", "example_content: true\nreview:\n  panel: 4\n")
    error = the_error(root, "a majority of 4 reviewers can split 2 to 2")
    assert error.file.endswith("ef-engaging-your-peers.yaml") and error.path == "review.panel"
    assert error.line == line_of(root / EF_PEERS, r"^  panel: 4")
    assert "ties: not_yet" in error.message and "ties: earned" in error.message
    # The same on a stack, in course.yaml.
    root = copy_map(tmp_path / "stack")
    line = edit(root / "course.yaml", EF_STACK_RULE, EF_STACK_RULE + "    review: {panel: 2}\n")
    error = the_error(root, "a majority of 2 reviewers can split 1 to 1")
    assert error.file.endswith("course.yaml") and error.line == line + 2


def test_ties_that_cannot_happen_are_a_warning(tmp_path: Path) -> None:
    root = copy_map(tmp_path)
    edit(
        root / EF_PEERS,
        "example_content: true\n",
        "example_content: true\nreview: {panel: 3, decide: unanimous, ties: earned}\n",
    )
    (warning,) = validate_course_map(root)
    assert not warning.is_error and warning.path == "review.ties"
    assert "a unanimous panel cannot tie" in warning.message
    assert _policy(root, "ef-engaging-your-peers") == ReviewPolicy(3, PanelRule.UNANIMOUS)


@pytest.mark.parametrize(("panel", "phrase"), [("0", "at least 1"), ("10", "at most 9"), ("two", "")])
def test_a_panel_is_one_to_nine(tmp_path: Path, panel: str, phrase: str) -> None:
    root = copy_map(tmp_path)
    edit(root / EF_PEERS, "example_content: true\n", f"example_content: true\nreview:\n  panel: {panel}\n")
    (error,) = errors_in(root)
    assert error.path == "review.panel" and error.line == line_of(root / EF_PEERS, r"^  panel:")
    assert phrase in error.message


def test_an_unknown_rule_is_a_schema_error_at_its_line(tmp_path: Path) -> None:
    root = copy_map(tmp_path)
    edit(
        root / EF_PEERS,
        "example_content: true\n",
        "example_content: true\nreview:\n  panel: 3\n  decide: consensus\n",
    )
    (error,) = errors_in(root)
    assert error.path == "review.decide" and error.line == line_of(root / EF_PEERS, r"^  decide:")


def test_a_credential_in_two_stacks_asking_for_different_reviews_must_choose(tmp_path: Path) -> None:
    root = copy_map(tmp_path)
    edit(
        root / "course.yaml",
        "      - lm-data-driven-decision-making\n",
        "      - lm-data-driven-decision-making\n      - ef-engaging-your-peers\n",
    )
    edit(root / "course.yaml", EF_STACK_RULE, EF_STACK_RULE + "    review: {panel: 3}\n")
    error = the_error(root, "credential 'ef-engaging-your-peers' is also in stack 'executive-function'")
    assert error.file.endswith("course.yaml")
    # At the second stack's listing of it.
    assert error.line == line_of(root / "course.yaml", r"^      - ef-engaging-your-peers", 2)
    assert "give credentials/ef-engaging-your-peers.yaml its own 'review'" in error.message
    edit(root / EF_PEERS, "example_content: true\n", "example_content: true\nreview: {panel: 1}\n")
    assert errors_in(root) == []
    assert _policy(root, "ef-engaging-your-peers") == ReviewPolicy()
    assert _policy(root, "ef-supporting-students").panel == 3


def test_a_format_2_document_reads_as_one_assessor_deciding() -> None:
    document = json.loads(json.dumps(read_course_map(MAPS / LD).document))
    document["format"] = 2
    for credential in document["credentials"]:
        del credential["review"]
    assert all(c.review == ReviewPolicy() for c in course_map_from_document(document).credentials)

"""Course map rubric level descriptions and review panels: read from the files, validated at file and line."""

from __future__ import annotations

import json
from pathlib import Path

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

"""Course map files: the shipped maps are valid, and each kind of mistake is reported at its file and line."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from lti_tool.domain.definitions import ArtifactInput, ArtifactKind
from lti_tool.maps import (
    CourseMapInvalid,
    MapError,
    course_map_from_document,
    read_course_map,
    validate_course_map,
)
from lti_tool.maps.schema import SCHEMA_DIR

REPO = Path(__file__).resolve().parents[2]
MAPS = REPO / "course_maps"
LD = "learning-differences"
GG = "global-graduates"

LD_CREDENTIALS = {
    "executive-function": [
        "Foundations of Practice in Executive Function",
        "Empowering Your Learners in Executive Function",
        "Supporting Students in Executive Function",
        "Data-Driven Decision Making in Executive Function",
        "Engaging Your Peers in Executive Function",
    ],
    "learner-motivation": [
        "Foundations of Practice in Learner Motivation",
        "Empowering Your Learners in Motivation",
        "Engaging Your Peers in Learner Motivation",
        "Applying Strategies to Support Student Motivation",
        "Data-Driven Decision Making in Learner Motivation",
    ],
    "working-memory": [
        "Foundations of Practice in Working Memory",
        "Empowering Your Learners in Working Memory",
        "Engaging Your Peers in Working Memory",
        "Applying Strategies to Support Students in Working Memory",
        "Data-Driven Decision Making in Working Memory",
    ],
}


# --- helpers ---------------------------------------------------------------------------------------


def copy_map(tmp_path: Path, name: str = LD) -> Path:
    target = tmp_path / name
    shutil.copytree(MAPS / name, target)
    return target


def edit(file: Path, old: str, new: str) -> int:
    """Replace the first ``old`` in ``file``; returns the 1-based line where the replacement starts."""
    text = file.read_text()
    index = text.index(old)
    file.write_text(text[:index] + new + text[index + len(old) :])
    return text.count("\n", 0, index) + 1


def line_of(file: Path, pattern: str, occurrence: int = 1) -> int:
    matches = [i for i, line in enumerate(file.read_text().splitlines(), 1) if re.search(pattern, line)]
    return matches[occurrence - 1]


def errors_in(path: Path) -> list[MapError]:
    return [e for e in validate_course_map(path) if e.is_error]


def the_error(path: Path, message_part: str) -> MapError:
    found = [e for e in errors_in(path) if message_part in e.message]
    assert found, f"no error containing {message_part!r} in {[str(e) for e in validate_course_map(path)]}"
    return found[0]


# --- the shipped maps ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", [LD, GG])
def test_shipped_maps_are_clean(name: str) -> None:
    assert validate_course_map(MAPS / name) == []


def test_every_map_directory_is_shipped_valid() -> None:
    maps = sorted(p.name for p in MAPS.iterdir() if (p / "course.yaml").exists())
    assert {LD, GG} <= set(maps)
    for name in maps:
        assert errors_in(MAPS / name) == [], name


def test_learning_differences_is_the_nc_ceu_mooc_ed() -> None:
    course = read_course_map(MAPS / LD).course_map
    assert [u.stack_id for u in course.units] == list(LD_CREDENTIALS)
    assert course.stack("executive-function").statement == (
        "The ability to encourage autonomous and self-directed student learning in diverse learner profiles"
    )
    for stack in course.stacks:
        titles = [course.credential(c).title for c in stack.credential_ids]
        assert titles == LD_CREDENTIALS[stack.id]
        # The CEU rule: every credential of the stack, nothing optional.
        assert stack.rule.required == frozenset(stack.credential_ids)
        assert stack.rule.choose == 0 and not stack.rule.electives
        assert stack.contact_hours == 10
    assert sum(s.contact_hours for s in course.stacks) == 30  # 30 h = 3 CEUs = 3 NC renewal credits
    assert course.award is not None
    assert course.award.title == "Learning Differences MOOC-Ed with embedded micro-credentials"
    assert set(course.award.stack_ids) == set(LD_CREDENTIALS)
    assert course.award.contact_hours == 0
    assert len(course.credentials) == 15
    assert all(c.example_content for c in course.credentials)
    assert "example content" in course.description
    for credential in course.credentials:
        rubric = credential.rubric
        assert [lv.id for lv in rubric.levels] == ["developing", "proficient", "exemplary"]
        assert 3 <= len(rubric.criteria) <= 4
        assert {c.passing_level for c in rubric.criteria} == {"proficient"}
        assert credential.requirements.artifacts


def test_global_graduates_uses_required_plus_electives() -> None:
    course = read_course_map(MAPS / GG).course_map
    (stack,) = course.stacks
    assert len(stack.credential_ids) == 11
    assert len(stack.rule.required) == 3 and len(stack.rule.electives) == 8 and stack.rule.choose == 5
    assert course.award is None
    portfolios = course.credential("developing-student-digital-portfolios")
    assert portfolios.competency.startswith(
        "Teachers are able to create opportunities for students to revise"
    )


def test_schemas_are_draft_2020_12_and_closed() -> None:
    from jsonschema import Draft202012Validator

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if "properties" in node:
                assert node.get("additionalProperties") is False, sorted(node["properties"])
            for key, value in node.items():
                if key != "if":  # a condition, not a shape
                    walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    for name in ("course", "credential"):
        schema = json.loads((SCHEMA_DIR / f"{name}.schema.json").read_text())
        assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
        Draft202012Validator.check_schema(schema)
        walk(schema)
    credential = json.loads((SCHEMA_DIR / "credential.schema.json").read_text())
    assert set(credential["$defs"]["artifact"]["properties"]["kind"]["enum"]) == {
        k.value for k in ArtifactKind
    }


def test_document_round_trips_and_hash_ignores_formatting(tmp_path: Path) -> None:
    loaded = read_course_map(MAPS / LD)
    assert course_map_from_document(json.loads(json.dumps(loaded.document))) == loaded.course_map
    copy = copy_map(tmp_path)
    edit(copy / "course.yaml", "units:\n", "# a comment changes nothing\nunits:\n")
    assert read_course_map(copy).content_hash == loaded.content_hash
    edit(copy / "course.yaml", "title: Learning Differences\n", "title: Learning Differences (2nd ed.)\n")
    assert read_course_map(copy).content_hash != loaded.content_hash


# --- broken copies ---------------------------------------------------------------------------------


def test_error_prints_as_file_line_column_path_message(tmp_path: Path) -> None:
    root = copy_map(tmp_path)
    file = root / "credentials" / "ef-foundations-of-practice.yaml"
    line = edit(file, "passing_level: proficient", "passing_level: expert")
    error = the_error(root, "is not one of the rubric levels")
    assert error.file == file.as_posix()
    assert (error.line, error.column) == (line, 7)
    assert str(error) == (
        f"{file.as_posix()}:{line}:7: rubric.criteria[0].passing_level: "
        "'expert' is not one of the rubric levels (developing, proficient, exemplary)"
    )
    with pytest.raises(CourseMapInvalid) as raised:
        read_course_map(root)
    assert error in raised.value.errors


Breaker = Callable[[Path], tuple[str, int, str]]  # breaks a copy; returns (file, line, message part)


def _unknown_field(root: Path) -> tuple[str, int, str]:
    line = edit(root / "course.yaml", "version:", "colour: red\nversion:")
    return "course.yaml", line, "unknown field 'colour'"


def _duplicate_stack(root: Path) -> tuple[str, int, str]:
    course = root / "course.yaml"
    line = edit(
        course,
        "  - id: working-memory\n    title: Working Memory\n",
        "  - id: executive-function\n    title: Working Memory\n",
    )
    first = line_of(course, r"^  - id: executive-function", 2)
    return "course.yaml", line, f"stack id 'executive-function' is used twice (line {first} and line {line})"


def _duplicate_unit(root: Path) -> tuple[str, int, str]:
    line = edit(root / "course.yaml", "  - id: learner-motivation\n", "  - id: executive-function\n")
    first = line_of(root / "course.yaml", r"^  - id: executive-function")
    return "course.yaml", line, f"unit id 'executive-function' is used twice (line {first} and line {line})"


def _unit_missing_stack(root: Path) -> tuple[str, int, str]:
    line = edit(root / "course.yaml", "    stack: working-memory", "    stack: short-term-memory")
    return (
        "course.yaml",
        line,
        f"stack 'short-term-memory' is not defined, but unit 'working-memory' (line {line})",
    )


def _stack_missing_credential(root: Path) -> tuple[str, int, str]:
    line = edit(root / "course.yaml", "      - wm-data-driven-decision-making", "      - wm-data-decisions")
    return "course.yaml", line, "lists credential 'wm-data-decisions', but there is no credentials/"


def _id_not_file_name(root: Path) -> tuple[str, int, str]:
    file = "credentials/ef-supporting-students.yaml"
    line = edit(root / file, "id: ef-supporting-students", "id: ef-supporting-learners")
    return file, line, "must match its file name 'ef-supporting-students.yaml'"


def _empty_criteria(root: Path) -> tuple[str, int, str]:
    file = root / "credentials/wm-engaging-your-peers.yaml"
    text = file.read_text()
    start, end = text.index("  criteria:\n"), text.index("  earned_rule:")
    file.write_text(text[:start] + "  criteria: []\n" + text[end:])
    return (
        "credentials/wm-engaging-your-peers.yaml",
        line_of(file, r"^  criteria:"),
        "the list is empty: add at least one rubric criterion",
    )


def _empty_levels(root: Path) -> tuple[str, int, str]:
    file = root / "credentials/wm-engaging-your-peers.yaml"
    text = file.read_text()
    start, end = text.index("  levels:\n"), text.index("  criteria:\n")
    file.write_text(text[:start] + "  levels: []\n" + text[end:])
    return (
        "credentials/wm-engaging-your-peers.yaml",
        line_of(file, r"^  levels:"),
        "the list is empty: add at least one rubric level",
    )


def _duplicate_rank(root: Path) -> tuple[str, int, str]:
    file = "credentials/lm-applying-strategies.yaml"
    line = edit(root / file, "rank: 3", "rank: 2")
    return file, line, "rank 2 is also the rank of level 'proficient'"


def _award_missing_stack(root: Path) -> tuple[str, int, str]:
    course = root / "course.yaml"
    edit(course, "  stacks: all", "  stacks:\n    - executive-function\n    - reading-fluency")
    return (
        "course.yaml",
        line_of(course, r"- reading-fluency"),
        "stack 'reading-fluency' is not defined, but the award (line",
    )


def _yaml_syntax(root: Path) -> tuple[str, int, str]:
    file = "credentials/ef-data-driven-decision-making.yaml"
    line = edit(root / file, "title: ", "title: [unclosed\nkey_hint: ")
    return file, line + 1, "YAML syntax error"


def _duplicate_key(root: Path) -> tuple[str, int, str]:
    line = edit(root / "course.yaml", "version:", "title: Again\nversion:")
    return "course.yaml", line, "'title' appears twice"


def _bad_slug(root: Path) -> tuple[str, int, str]:
    line = edit(root / "course.yaml", "  - id: executive-function", "  - id: Executive_Function")
    return "course.yaml", line, "is not a valid id"


def _unquoted_version(root: Path) -> tuple[str, int, str]:
    line = edit(root / "course.yaml", 'version: "2015.1"', "version: 2015.1")
    return "course.yaml", line, "is not text; put it in quotes"


def _rule_all_with_choose(root: Path) -> tuple[str, int, str]:
    line = edit(root / "course.yaml", "      rule: all\n", "      rule: all\n      choose: 2\n")
    return "course.yaml", line + 1, "'choose' is only used with rule all_plus_choose"


BREAKERS: dict[str, Breaker] = {
    "unknown field": _unknown_field,
    "duplicate stack id": _duplicate_stack,
    "duplicate unit id": _duplicate_unit,
    "unit -> missing stack": _unit_missing_stack,
    "stack -> missing credential": _stack_missing_credential,
    "credential id != file name": _id_not_file_name,
    "empty rubric criteria": _empty_criteria,
    "empty rubric levels": _empty_levels,
    "duplicate level ranks": _duplicate_rank,
    "award -> missing stack": _award_missing_stack,
    "YAML syntax error": _yaml_syntax,
    "duplicate YAML key": _duplicate_key,
    "id not a slug": _bad_slug,
    "version not quoted": _unquoted_version,
    "rule all with choose": _rule_all_with_choose,
}


@pytest.mark.parametrize("breaker", list(BREAKERS.values()), ids=list(BREAKERS))
def test_broken_copy_is_reported_at_file_and_line(tmp_path: Path, breaker: Breaker) -> None:
    root = copy_map(tmp_path)
    file, line, message = breaker(root)
    error = the_error(root, message)
    assert error.file == (root / file).as_posix()
    assert error.line == line, str(error)
    assert str(error).startswith(f"{(root / file).as_posix()}:{line}:")
    with pytest.raises(CourseMapInvalid):
        read_course_map(root)


def test_missing_course_yaml(tmp_path: Path) -> None:
    root = copy_map(tmp_path)
    (root / "course.yaml").unlink()
    (error,) = validate_course_map(root)
    assert error.file == (root / "course.yaml").as_posix()
    assert "missing course.yaml" in error.message
    assert str(error).startswith(f"{(root / 'course.yaml').as_posix()}: ")


def test_choose_more_than_electives(tmp_path: Path) -> None:
    root = copy_map(tmp_path, GG)
    line = edit(root / "course.yaml", "choose: 5", "choose: 9")
    error = the_error(root, "choose 9 is more than the 8 electives available")
    assert (error.line, error.path) == (line, "stacks[0].completion.choose")


def test_electives_must_cover_the_stack(tmp_path: Path) -> None:
    root = copy_map(tmp_path, GG)
    edit(root / "course.yaml", "      choose: 5", "      electives: [seeking-student-input]\n      choose: 1")
    error = the_error(root, "neither required nor elective")
    assert "using-research-to-inform-teaching" in error.message


def test_unused_credential_is_a_warning_and_is_not_loaded(tmp_path: Path) -> None:
    root = copy_map(tmp_path)
    edit(root / "course.yaml", "      - wm-engaging-your-peers\n", "")
    problems = validate_course_map(root)
    assert [p.severity for p in problems] == ["warning"]
    assert problems[0].file == (root / "credentials/wm-engaging-your-peers.yaml").as_posix()
    assert " warning: " in str(problems[0])
    loaded = read_course_map(root)
    assert len(loaded.course_map.credentials) == 14
    assert loaded.warnings == tuple(problems)


# --- word limits, what artifacts accept, and the test map that uses them ----------------------------------

VIDEO_COACHING = REPO / "tests" / "maps" / "video-coaching"
EF_VIDEO = "credentials/ef-empowering-your-learners.yaml"  # lesson-video: classroom_video


def test_video_coaching_map_uses_max_words_video_links_and_required_plus_choose() -> None:
    assert validate_course_map(VIDEO_COACHING) == []
    course = read_course_map(VIDEO_COACHING).course_map
    (stack,) = course.stacks
    assert stack.rule.required == {"recording-a-lesson", "reviewing-with-a-rubric"}
    assert stack.rule.electives == {"peer-observation", "student-voice", "lesson-study"}
    assert stack.rule.choose == 1
    recording = course.credential("recording-a-lesson").requirements
    assert [(q.min_words, q.max_words) for q in recording.overview_questions] == [(5, 40)]
    assert [(r.min_words, r.max_words) for r in recording.reflection_prompts] == [(5, 60)]
    video, plan = recording.artifacts
    assert video.accepts == {ArtifactInput.VIDEO_LINK} and plan.accepts == {ArtifactInput.FILE}


def test_document_records_word_limits_and_what_each_artifact_accepts() -> None:
    loaded = read_course_map(MAPS / LD)
    assert loaded.document["format"] == 3
    ef = next(c for c in loaded.document["credentials"] if c["id"] == "ef-empowering-your-learners")
    assert {q["max_words"] for q in ef["requirements"]["overview_questions"]} == {None}
    accepts = {a["id"]: a["accepts"] for a in ef["requirements"]["artifacts"]}
    assert accepts == {
        "lesson-plan": ["file", "link"],
        "self-assessments": ["file", "link"],
        "lesson-video": ["file", "video_link"],  # a classroom video: a video file or a video link
    }


def test_writing_the_default_accepts_out_changes_nothing(tmp_path: Path) -> None:
    root = copy_map(tmp_path)
    before = read_course_map(root).content_hash
    edit(
        root / EF_VIDEO,
        "      kind: classroom_video\n",
        "      kind: classroom_video\n      accepts: [video_link, file]\n",
    )
    assert validate_course_map(root) == []
    assert read_course_map(root).content_hash == before
    edit(root / EF_VIDEO, "accepts: [video_link, file]", "accepts: [video_link]")
    assert read_course_map(root).content_hash != before


def test_a_format_1_document_reads_as_it_was_published() -> None:
    """Versions stored before word limits and ``accepts``: any link for every kind but ``link``."""
    document = json.loads(json.dumps(read_course_map(MAPS / LD).document))
    document["format"] = 1
    for credential in document["credentials"]:
        for key in ("overview_questions", "reflection_prompts"):
            for prompt in credential["requirements"][key]:
                del prompt["max_words"]
        for artifact in credential["requirements"]["artifacts"]:
            del artifact["accepts"]
    old = course_map_from_document(document)
    video = next(
        a
        for a in old.credential("ef-empowering-your-learners").requirements.artifacts
        if a.id == "lesson-video"
    )
    assert video.accepts == {ArtifactInput.FILE, ArtifactInput.LINK}
    link = next(
        a for a in old.credential("ef-engaging-your-peers").requirements.artifacts if a.id == "session-link"
    )
    assert link.accepts == {ArtifactInput.LINK}
    assert all(q.max_words is None for c in old.credentials for q in c.requirements.overview_questions)


def test_max_words_below_min_words(tmp_path: Path) -> None:
    root = copy_map(tmp_path)
    file = root / EF_VIDEO
    line = edit(file, "      min_words: 100\n", "      min_words: 100\n      max_words: 50\n") + 1
    error = the_error(root, "max_words 50 is less than min_words 100")
    assert (error.file, error.line, error.path) == (
        file.as_posix(),
        line,
        "requirements.overview_questions[0].max_words",
    )


@pytest.mark.parametrize(
    ("kind", "accepts", "item", "message"),
    [
        ("link", "[link, file]", 1, "an artifact of kind 'link' takes no files"),
        ("classroom_video", "[file, link, video_link]", 2, "'link' already takes any link"),
        ("classroom_video", "[file, video-link]", 1, "'video-link' is not one of file, link, video_link"),
    ],
)
def test_accepts_that_cannot_be_met(tmp_path: Path, kind: str, accepts: str, item: int, message: str) -> None:
    root = copy_map(tmp_path)
    file = root / EF_VIDEO
    line = edit(file, "      kind: classroom_video\n", f"      kind: {kind}\n      accepts: {accepts}\n") + 1
    error = the_error(root, message)
    assert (error.line, error.path) == (line, f"requirements.artifacts[2].accepts[{item}]")
    if "video-link" in accepts:
        assert "(did you mean 'video_link'?)" in error.message


# --- errors in a designer's words ------------------------------------------------------------------------


def test_a_copied_credential_file_is_a_duplicate_id(tmp_path: Path) -> None:
    root = copy_map(tmp_path)
    original = root / "credentials" / "ef-supporting-students.yaml"
    copy = root / "credentials" / "ef-supporting-students-copy.yaml"
    shutil.copy(original, copy)
    (problem,) = validate_course_map(root)  # one error, not a cascade
    assert problem.message.startswith(
        "credential id 'ef-supporting-students' is used twice "
        "(credentials/ef-supporting-students.yaml and credentials/ef-supporting-students-copy.yaml)"
    )
    assert (problem.file, problem.line, problem.path) == (copy.as_posix(), line_of(copy, r"^id:"), "id")


def test_a_duplicated_list_item_is_reported_at_the_item(tmp_path: Path) -> None:
    root = copy_map(tmp_path)
    course = root / "course.yaml"
    edit(
        course,
        "      - ef-engaging-your-peers\n",
        "      - ef-engaging-your-peers\n      - ef-supporting-students\n",
    )
    first, again = (
        line_of(course, r"- ef-supporting-students"),
        line_of(course, r"- ef-supporting-students", 2),
    )
    (problem,) = validate_course_map(root)
    assert problem.message == (
        f"'ef-supporting-students' is listed twice in 'credentials' (line {first} and line {again})"
    )
    assert (problem.line, problem.path) == (again, "stacks[0].credentials[5]")


def test_a_renamed_stack_is_one_error_naming_its_uses(tmp_path: Path) -> None:
    root = copy_map(tmp_path)
    course = root / "course.yaml"
    edit(course, "  stacks: all", "  stacks: [executive-function, learner-motivation, working-memory]")
    renamed = edit(
        course,
        "  - id: executive-function\n    title: Executive Function\n",
        "  - id: exec-function\n    title: Executive Function\n",
    )
    unit = line_of(course, r"stack: executive-function")
    award = line_of(course, r"stacks: \[executive-function")
    (problem,) = validate_course_map(root)  # no second error per reference, no "not embedded" warning
    assert problem.is_error and (problem.line, problem.path) == (unit, "units[0].stack")
    assert problem.message == (
        f"stack 'executive-function' is not defined, but unit 'executive-function' (line {unit}) and the "
        f"award (line {award}) use it; stack 'exec-function' is defined and nothing uses it: if you renamed "
        "'executive-function' to 'exec-function', rename it back (ids must not change once learners use the "
        "map) or update these references"
    )
    assert renamed != unit  # reported where the old id is used, not at the renamed stack


def test_a_credential_missing_from_two_stacks_is_one_error(tmp_path: Path) -> None:
    root = copy_map(tmp_path)
    course = root / "course.yaml"
    edit(
        course,
        "      - lm-engaging-your-peers\n",
        "      - lm-engaging-your-peers\n      - ef-supporting-students\n",
    )
    (root / "credentials" / "ef-supporting-students.yaml").unlink()
    first, again = (
        line_of(course, r"- ef-supporting-students"),
        line_of(course, r"- ef-supporting-students", 2),
    )
    (problem,) = validate_course_map(root)
    assert problem.line == first
    assert problem.message == (
        "stacks 'executive-function' and 'learner-motivation' list credential 'ef-supporting-students', but "
        f"there is no credentials/ef-supporting-students.yaml (also at line {again})"
    )


RAW_JSONSCHEMA = re.compile(
    r"should be non-empty|is a required property|is not of type|is not one of \[|is too long$|is too short$"
    r"|less than the minimum|greater than the maximum|Additional properties|does not match|is not valid under"
    r"|\[\]|None"
)


@pytest.mark.parametrize(
    ("file", "old", "new", "expected"),
    [
        (EF_VIDEO, "  criteria:\n", "  criteria: []\n  old_criteria:\n", None),
        (
            "course.yaml",
            "    contact_hours: 10\n",
            "    contact_hours: ten\n",
            "must be a number, not the text 'ten'",
        ),
        ("course.yaml", "    contact_hours: 10\n", "    contact_hours: -1\n", "must be at least 0 (not -1)"),
        ("course.yaml", "    contact_hours: 10\n", "    contact_hours:\n", "must be a number, not empty"),
        (
            EF_VIDEO,
            "      min_words: 100\n",
            "      min_words: 1.5\n",
            "must be a whole number, not the number 1.5",
        ),
        (EF_VIDEO, "kind: classroom_video", "kind: classroom-video", "(did you mean 'classroom_video'?)"),
        (
            EF_VIDEO,
            "title: Empowering Your Learners in Executive Function",
            "title: ''",
            "is empty: write some text",
        ),
        (
            EF_VIDEO,
            "title: Empowering Your Learners in Executive Function",
            "title: " + "x" * 300,
            "is too long: at most 255 characters (this has 300)",
        ),
        (
            EF_VIDEO,
            "method_components:\n",
            "method_components: []\nold_components:\n",
            "add at least one method component",
        ),
        (
            EF_VIDEO,
            "competency: >-",
            "competence: >-",
            "unknown field 'competence' (did you mean 'competency'?)",
        ),
        (
            "course.yaml",
            "  stacks: all",
            "  stacks: 3",
            'must be "all" or a list of stack ids, not the number 3',
        ),
        (
            "course.yaml",
            "  stacks: all",
            "  stacks: some",
            "'some' is not allowed: write \"all\" or a list of stack ids",
        ),
        ("course.yaml", "  stacks: all", "  stacks: []", "the list is empty: add at least one stack"),
    ],
)
def test_schema_errors_are_plain_sentences(
    tmp_path: Path, file: str, old: str, new: str, expected: str | None
) -> None:
    root = copy_map(tmp_path)
    edit(root / file, old, new)
    problems = [p for p in validate_course_map(root) if p.is_error]
    assert problems
    for problem in problems:
        assert not RAW_JSONSCHEMA.search(problem.message), str(problem)
    if expected is not None:
        assert any(expected in p.message for p in problems), [str(p) for p in problems]

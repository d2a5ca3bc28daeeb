"""Loading course maps into the database: idempotent, versioned, all-or-nothing; and the CLI around it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import func, select

from lti_tool.db import Database
from lti_tool.db.models import Course, CourseMapVersion, CredentialDef, StackCredential, StackDef
from lti_tool.maps import CourseMapInvalid
from lti_tool.services.course_maps import (
    CourseMapNotFound,
    current_version_id,
    discover_maps,
    get_course_map,
    list_courses,
    load_course_maps,
    loaded_versions,
)

REPO = Path(__file__).resolve().parents[2]
MAPS = REPO / "course_maps"
LD = MAPS / "learning-differences"
GG = MAPS / "global-graduates"


def copy_map(tmp_path: Path, source: Path = LD) -> Path:
    target = tmp_path / "maps" / source.name
    shutil.copytree(source, target)
    return target


def retitle(root: Path, title: str) -> None:
    course = root / "course.yaml"
    text = course.read_text()
    course.write_text(text.replace("title: Learning Differences\n", f"title: {title}\n", 1))


def count(db: Database, model: type, **where: object) -> int:
    with db.read() as session:
        query = select(func.count()).select_from(model).filter_by(**where)
        return int(session.scalar(query) or 0)


def test_discover_maps_finds_the_shipped_maps() -> None:
    assert discover_maps(MAPS) == [GG, LD]


def test_loading_twice_creates_one_version(db: Database) -> None:
    (first,) = load_course_maps(db, [LD])
    (second,) = load_course_maps(db, [LD])
    assert first.created and first.revision == 1
    assert not second.created and not second.became_current
    assert (second.version_id, second.revision) == (first.version_id, 1)
    assert count(db, CourseMapVersion) == 1
    assert count(db, StackDef, map_version_id=first.version_id) == 3
    assert count(db, CredentialDef, map_version_id=first.version_id) == 15
    assert count(db, StackCredential) == 15
    assert current_version_id(db, "learning-differences") == first.version_id


def test_edit_creates_a_new_revision_and_keeps_the_old_one(db: Database, tmp_path: Path) -> None:
    root = copy_map(tmp_path)
    (v1,) = load_course_maps(db, [root])
    with db.read() as session:
        old_document = session.get(CourseMapVersion, v1.version_id).document  # type: ignore[union-attr]

    retitle(root, "Learning Differences, second edition")
    (v2,) = load_course_maps(db, [root])
    assert v2.created and v2.revision == 2 and v2.version_id != v1.version_id
    assert current_version_id(db, "learning-differences") == v2.version_id

    # Revision 1 is untouched: same document, same stack and credential rows.
    with db.read() as session:
        old = session.get(CourseMapVersion, v1.version_id)
        assert old is not None and old.revision == 1 and old.document == old_document
        assert old.title == "Learning Differences"
        course = session.get(Course, "learning-differences")
        assert course is not None and course.title == "Learning Differences, second edition"
    for version in (v1, v2):
        assert count(db, StackDef, map_version_id=version.version_id) == 3
        assert count(db, CredentialDef, map_version_id=version.version_id) == 15

    assert get_course_map(db, "learning-differences").title == "Learning Differences, second edition"
    assert get_course_map(db, "learning-differences", v1.version_id).title == "Learning Differences"
    assert (
        get_course_map(db, "learning-differences", v2.version_id).title
        == "Learning Differences, second edition"
    )

    # Going back to the first content reuses revision 1 instead of writing a third version.
    shutil.copy(LD / "course.yaml", root / "course.yaml")
    (back,) = load_course_maps(db, [root])
    assert (back.version_id, back.created, back.became_current) == (v1.version_id, False, True)
    assert count(db, CourseMapVersion) == 2
    assert loaded_versions(db, "learning-differences") == [
        (v1.version_id, 1, "2015.1"),
        (v2.version_id, 2, "2015.1"),
    ]
    assert current_version_id(db, "learning-differences") == v1.version_id


def test_stack_rows_record_the_completion_rule(db: Database) -> None:
    (gg,) = load_course_maps(db, [GG])
    with db.read() as session:
        stack = session.execute(select(StackDef).filter_by(map_version_id=gg.version_id)).scalar_one()
        rows = session.execute(select(StackCredential).filter_by(stack_def_id=stack.id)).scalars().all()
    assert (stack.choose, float(stack.contact_hours)) == (5, 16.0)
    assert sorted(r.credential_key for r in rows if r.required) == [
        "checking-for-understanding",
        "creating-flexible-learning-environments",
        "developing-student-digital-portfolios",
    ]
    assert len(rows) == 11
    course = get_course_map(db, "global-graduates")
    assert course.stack("global-graduates").rule.choose == 5


def test_list_courses(db: Database) -> None:
    assert list_courses(db) == []
    load_course_maps(db, discover_maps(MAPS))
    summaries = {c.key: c for c in list_courses(db)}
    assert set(summaries) == {"learning-differences", "global-graduates"}
    ld = summaries["learning-differences"]
    assert (ld.title, ld.version_label, ld.revision, ld.stacks, ld.credentials) == (
        "Learning Differences",
        "2015.1",
        1,
        3,
        15,
    )
    assert (summaries["global-graduates"].stacks, summaries["global-graduates"].credentials) == (1, 11)


def test_unknown_course_or_foreign_version(db: Database) -> None:
    (ld,) = load_course_maps(db, [LD])
    with pytest.raises(CourseMapNotFound):
        get_course_map(db, "no-such-course")
    with pytest.raises(CourseMapNotFound):
        get_course_map(db, "global-graduates", ld.version_id)
    with pytest.raises(CourseMapNotFound):
        get_course_map(db, "learning-differences", ld.version_id + 1000)


def test_invalid_map_loads_nothing(db: Database, tmp_path: Path) -> None:
    broken = copy_map(tmp_path)
    (broken / "credentials" / "wm-engaging-your-peers.yaml").write_text("id: [unclosed\n")
    with pytest.raises(CourseMapInvalid) as raised:
        load_course_maps(db, [GG, broken])  # the valid map is not loaded either
    assert any(
        "wm-engaging-your-peers.yaml:" in str(e) and "YAML syntax error" in e.message
        for e in raised.value.errors
    )
    assert count(db, Course) == 0
    assert count(db, CourseMapVersion) == 0
    assert count(db, StackDef) == 0


def test_two_loaders_at_once_create_one_version(database_url: str) -> None:
    databases = [Database(database_url), Database(database_url)]
    barrier = threading.Barrier(len(databases))
    results: list[object] = []

    def load(db: Database) -> None:
        barrier.wait()
        results.extend(load_course_maps(db, [LD]))

    threads = [threading.Thread(target=load, args=(d,)) for d in databases]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    try:
        assert len(results) == 2
        assert sorted(r.created for r in results) == [False, True]  # type: ignore[attr-defined]
        assert count(databases[0], CourseMapVersion) == 1
        assert count(databases[0], StackDef) == 3
    finally:
        for d in databases:
            d.dispose()


# --- the CLI -----------------------------------------------------------------------------------------


def test_cli_load_of_invalid_map_writes_nothing(app: Flask, db: Database, tmp_path: Path) -> None:
    broken = copy_map(tmp_path)
    (broken / "course.yaml").write_text(
        (broken / "course.yaml").read_text().replace("rule: all", "rule: most", 1)
    )
    runner = app.test_cli_runner()
    result = runner.invoke(args=["course-maps", "load", str(GG), str(broken)])
    assert result.exit_code == 1
    assert "course.yaml:" in result.output and "nothing loaded" in result.output
    assert count(db, CourseMapVersion) == 0 and count(db, Course) == 0

    result = runner.invoke(args=["course-maps", "load", str(MAPS)])
    assert result.exit_code == 0, result.output
    assert "loaded learning-differences: revision 1" in result.output
    result = runner.invoke(args=["course-maps", "load", str(LD)])
    assert "unchanged learning-differences: revision 1" in result.output
    result = runner.invoke(args=["course-maps", "list"])
    assert "learning-differences\tLearning Differences\tversion 2015.1\trevision 1" in result.output


def _lti_tool(tmp_path: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    script = Path(sys.executable).parent / "lti-tool"
    command = (
        [str(script)] if script.exists() else [sys.executable, "-c", "from lti_tool.cli import main; main()"]
    )
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'cli.sqlite3'}",
        "SECRET_KEY": "cli-test-secret",
    }
    return subprocess.run([*command, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


def test_cli_validate_subprocess(tmp_path: Path) -> None:
    ok = _lti_tool(tmp_path, "course-maps", "validate", "course_maps", cwd=REPO)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "OK course_maps/learning-differences: 3 stacks, 15 credentials" in ok.stdout
    assert "OK course_maps/global-graduates: 1 stacks, 11 credentials" in ok.stdout

    broken = copy_map(tmp_path)
    file = broken / "credentials" / "ef-foundations-of-practice.yaml"
    lines = file.read_text().splitlines()
    line = next(i for i, text in enumerate(lines, 1) if "passing_level: proficient" in text)
    file.write_text(file.read_text().replace("passing_level: proficient", "passing_level: expert", 1))
    bad = _lti_tool(tmp_path, "course-maps", "validate", "learning-differences", cwd=broken.parent)
    assert bad.returncode == 1
    assert (
        f"learning-differences/credentials/ef-foundations-of-practice.yaml:{line}:7: "
        "rubric.criteria[0].passing_level: 'expert' is not one of the rubric levels" in bad.stderr
    )

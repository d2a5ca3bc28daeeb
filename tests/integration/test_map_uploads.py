"""A course designer uploads a new version of the course's map on the designer pages (SQLite, PostgreSQL).

The upload (a zip of the map folder, or its YAML files) is checked with the messages of `lti-tool course-maps
validate`, shown as a difference against the live version, and published on confirmation as a new version;
unsafe zips are refused whole; only designers of the course bound to the map upload; every step is audited.
The same pages list learners judged by an older version of a stack and move them on.
"""

from __future__ import annotations

import html
import io
import re
import shutil
import stat
import zipfile
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from werkzeug.test import TestResponse

from lti_tool import create_app
from lti_tool.db import Database
from lti_tool.db.models import AuditEvent, Course, CourseMapUpload, CourseMapVersion, LearnerStackVersion
from lti_tool.maps import validate_course_map
from lti_tool.services import evidence, map_uploads
from lti_tool.services.course_maps import load_course_maps
from tests import factories
from tests.conftest import app_config
from tests.integration.test_learner_map_versions import ADDED, ORIGINAL, STACK, edited_map

KEY = "learning-differences"


def _text(data: bytes) -> str:
    return html.unescape(re.sub(r"\s+", " ", data.decode()))


def zip_folder(folder: Path, *, top: str | None = "learning-differences") -> bytes:
    """The map folder zipped as a file manager does it: a top folder holding course.yaml and credentials/."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                inner = path.relative_to(folder).as_posix()
                archive.write(path, f"{top}/{inner}" if top else inner)
    return buffer.getvalue()


def upload(client: FlaskClient, *files: tuple[bytes, str]) -> TestResponse:
    data = {"files": [(io.BytesIO(content), name) for content, name in files]}
    return client.post("/design/map-versions/uploads", data=data, content_type="multipart/form-data")


def _uploads(db: Database) -> int:
    with db.read() as session:
        return int(session.scalar(select(func.count()).select_from(CourseMapUpload)) or 0)


def _live_revision(db: Database) -> int:
    with db.read() as session:
        course = session.get(Course, KEY)
        assert course is not None and course.current_version_id is not None
        version = session.get(CourseMapVersion, course.current_version_id)
        assert version is not None
        return version.revision


def _actions(db: Database) -> list[str]:
    with db.read() as session:
        return list(session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))


@pytest.fixture
def designer_client(app: Flask) -> tuple[Database, factories.CourseFixture, FlaskClient]:
    db: Database = app.extensions["db"]
    factories.load_shipped_map(db)
    course = factories.course(db)
    designer = course.designer()
    client = app.test_client()
    factories.sign_in(client, designer)
    return db, course, client


def test_a_zip_is_checked_shown_as_a_difference_and_published_on_confirmation(
    designer_client: tuple[Database, factories.CourseFixture, FlaskClient], tmp_path: Path
) -> None:
    db, _course, client = designer_client
    dashboard = _text(client.get("/design/").data)
    assert 'data-link="map-versions"' in dashboard

    folder = edited_map(tmp_path)
    # The stack asks for a panel, and one level of one criterion reads differently.
    rule = "    completion:\n      rule: all  # CEUs need every micro-credential of the stack\n"
    course_yaml = folder / "course.yaml"
    course_yaml.write_text(course_yaml.read_text().replace(rule, rule + "    review: {panel: 3}\n", 1))
    peers = folder / "credentials" / "ef-engaging-your-peers.yaml"
    level = "developing: Colleagues mostly listened; there was little chance to take part."
    peers.write_text(peers.read_text().replace(level, "developing: Colleagues only listened.", 1))
    response = upload(client, (zip_folder(folder), "learning-differences.zip"))
    assert response.status_code == 303, response.data[:2000]
    review_url = response.headers["Location"]
    assert _live_revision(db) == 1  # nothing is live before the designer confirms
    page = _text(client.get(review_url).data)
    assert 'data-change="added credential"' in page and ADDED in page
    assert (
        "<li>review added: panel of 3, majority</li>" in page
        and "criterion engagement changed: level developing description changed" in page
    )
    stack_row = re.search(r'<tr data-change="changed stack">(.*?)</tr>', page)
    assert stack_row and f"credential added to the stack: {ADDED}" in stack_row.group(1)
    rule_row = re.search(r'<tr data-change="changed completion rule">(.*?)</tr>', page)
    assert rule_row and STACK in rule_row.group(1)
    assert "learners part-way through a stack keep the version they started it under" in page

    live_id = re.search(r'name="reviewed_against" value="(\d+)"', page)
    assert live_id is not None
    publish_url = review_url + "/publish"
    published = client.post(publish_url, data={"reviewed_against": live_id.group(1)})
    assert published.status_code == 303
    versions_page = _text(client.get(published.headers["Location"]).data)
    assert "The new version is live." in versions_page
    assert _live_revision(db) == 2
    with db.read() as session:
        version = session.scalars(select(CourseMapVersion).where(CourseMapVersion.revision == 2)).one()
        assert version.source_path.startswith("upload ") and "learning-differences.zip" in version.source_path
        assert ADDED in {c["id"] for c in version.document["credentials"]}
    assert _actions(db)[-2:] == ["course_map.upload_checked", "course_map.published"]
    # Published once: the same upload cannot publish again.
    assert client.post(publish_url, data={"reviewed_against": live_id.group(1)}).status_code == 409


def test_yaml_files_upload_and_an_unchanged_map_has_nothing_to_publish(
    designer_client: tuple[Database, factories.CourseFixture, FlaskClient],
) -> None:
    db, _course, client = designer_client
    folder = factories.LEARNING_DIFFERENCES
    files = [((folder / "course.yaml").read_bytes(), "course.yaml")]
    files += [(p.read_bytes(), p.name) for p in sorted((folder / "credentials").glob("*.yaml"))]
    response = upload(client, *files)
    assert response.status_code == 303
    page = _text(client.get(response.headers["Location"]).data)
    assert "data-unchanged" in page and "nothing to publish" in page
    assert "/publish" not in page
    live = re.search(r"/uploads/(\d+)", response.headers["Location"])
    assert live is not None
    refused = client.post(
        f"/design/map-versions/uploads/{live.group(1)}/publish", data={"reviewed_against": "1"}
    )
    assert refused.status_code == 409 and _live_revision(db) == 1


def test_an_invalid_map_shows_the_validate_commands_messages_and_keeps_nothing(
    designer_client: tuple[Database, factories.CourseFixture, FlaskClient], tmp_path: Path
) -> None:
    db, _course, client = designer_client
    broken = tmp_path / "learning-differences"
    shutil.copytree(factories.LEARNING_DIFFERENCES, broken)
    credential = broken / "credentials" / "ef-foundations-of-practice.yaml"
    credential.write_text(
        credential.read_text().replace("passing_level: proficient", "passing_level: expert", 1)
    )
    (broken / "course.yaml").write_text(
        (broken / "course.yaml").read_text().replace("contact_hours: 10", "contact_hours: ten", 1)
    )
    expected = [
        str(p).removeprefix(tmp_path.as_posix() + "/") for p in validate_course_map(broken) if p.is_error
    ]
    assert len(expected) >= 2 and all(e.startswith("learning-differences/") for e in expected)

    response = upload(client, (zip_folder(broken), "broken.zip"))
    assert response.status_code == 400
    shown = [html.unescape(m) for m in re.findall(r"<li><code>(.*?)</code></li>", response.data.decode())]
    assert shown == expected
    assert _uploads(db) == 0 and _live_revision(db) == 1


def test_the_upload_is_for_the_courses_own_map(
    designer_client: tuple[Database, factories.CourseFixture, FlaskClient],
) -> None:
    db, _course, client = designer_client
    other = factories.LEARNING_DIFFERENCES.parent / "global-graduates"
    response = upload(client, (zip_folder(other, top="global-graduates"), "global-graduates.zip"))
    assert response.status_code == 400
    problems = " ".join(re.findall(r"<li><code>(.*?)</code></li>", _text(response.data)))
    assert "learning-differences/course.yaml:" in problems  # the map's id is not this course's map
    assert _uploads(db) == 0


def _zip(entries: list[tuple[str, bytes]], *, symlink: str | None = None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in entries:
            archive.writestr(name, content)
        if symlink:
            info = zipfile.ZipInfo(symlink)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            archive.writestr(info, "/etc/passwd")
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("entries", "symlink", "message"),
    [
        ([("../course.yaml", b"id: x")], None, "points outside the map folder"),
        ([("/etc/course.yaml", b"id: x")], None, "points outside the map folder"),
        ([("m/credentials/..\\..\\evil.yaml", b"x")], None, "points outside the map folder"),
        ([("C:/course.yaml", b"x")], None, "points outside the map folder"),
        ([("m/course.yaml", b"id: x")], "m/credentials/a.yaml", "is a symbolic link"),
        ([("m/credentials/a.yaml", b"id: a")], None, "no course.yaml"),
        ([("a/course.yaml", b"id: a"), ("b/course.yaml", b"id: b")], None, "more than one course.yaml"),
    ],
    ids=["dot-dot", "absolute", "backslashes", "drive", "symlink", "no-course", "two-courses"],
)
def test_unsafe_or_odd_zips_are_refused_whole(
    designer_client: tuple[Database, factories.CourseFixture, FlaskClient],
    entries: list[tuple[str, bytes]],
    symlink: str | None,
    message: str,
) -> None:
    db, _course, client = designer_client
    response = upload(client, (_zip(entries, symlink=symlink), "map.zip"))
    assert response.status_code == 400
    assert message in _text(response.data)
    assert _uploads(db) == 0


def test_too_many_or_too_large_files_are_refused(
    designer_client: tuple[Database, factories.CourseFixture, FlaskClient], monkeypatch: pytest.MonkeyPatch
) -> None:
    db, _course, client = designer_client
    folder = zip_folder(factories.LEARNING_DIFFERENCES)
    monkeypatch.setattr(map_uploads, "MAX_FILES", 5)
    assert "a map folder has at most 5" in _text(upload(client, (folder, "m.zip")).data)
    monkeypatch.setattr(map_uploads, "MAX_FILES", 500)
    monkeypatch.setattr(map_uploads, "MAX_FILE_BYTES", 1024)
    too_big = upload(client, (folder, "m.zip"))
    assert too_big.status_code == 400 and "is larger than 1 KB" in _text(too_big.data)
    bomb = _zip([("m/course.yaml", b"id: x\n" + b"#" * 200_000)])  # compresses to almost nothing
    assert "is larger than 1 KB" in _text(upload(client, (bomb, "m.zip")).data)
    assert "not a zip archive" in _text(upload(client, (b"PK not really", "m.zip")).data)
    assert _uploads(db) == 0


def test_only_designers_of_the_course_upload_and_publish(
    designer_client: tuple[Database, factories.CourseFixture, FlaskClient], app: Flask, tmp_path: Path
) -> None:
    db, course, client = designer_client
    response = upload(client, (zip_folder(edited_map(tmp_path)), "v2.zip"))
    review_url = response.headers["Location"]
    upload_id = int(re.findall(r"/uploads/(\d+)", review_url)[0])

    teacher = app.test_client()
    factories.sign_in(teacher, course.assessor("Tess Teacher"))
    assert upload(teacher, (zip_folder(edited_map(tmp_path / "t")), "v2.zip")).status_code == 403
    assert teacher.get(review_url).status_code == 403
    assert teacher.post(review_url + "/publish", data={"reviewed_against": "1"}).status_code == 403

    elsewhere = factories.course(db, title="Another course")
    stranger = app.test_client()
    factories.sign_in(stranger, elsewhere.designer("Sol Stranger"))
    assert stranger.get(f"/design/map-versions/uploads/{upload_id}").status_code == 404
    assert (
        stranger.post(
            f"/design/map-versions/uploads/{upload_id}/publish", data={"reviewed_against": "1"}
        ).status_code
        == 404
    )
    assert _live_revision(db) == 1


def test_publishing_after_another_version_went_live_asks_to_look_again(
    designer_client: tuple[Database, factories.CourseFixture, FlaskClient], tmp_path: Path
) -> None:
    db, _course, client = designer_client
    response = upload(client, (zip_folder(edited_map(tmp_path)), "v2.zip"))
    review_url = response.headers["Location"]
    seen = re.search(r'name="reviewed_against" value="(\d+)"', client.get(review_url).data.decode())
    assert seen is not None
    load_course_maps(
        db, [edited_map(tmp_path / "cli", add=False, remove=ORIGINAL[4])]
    )  # meanwhile, from the CLI
    stale = client.post(review_url + "/publish", data={"reviewed_against": seen.group(1)})
    assert stale.status_code == 409 and "look again" in _text(stale.data)
    assert _live_revision(db) == 2
    fresh = re.search(r'name="reviewed_against" value="(\d+)"', stale.data.decode())
    assert fresh is not None and fresh.group(1) != seen.group(1)
    assert client.post(review_url + "/publish", data={"reviewed_against": fresh.group(1)}).status_code == 303
    assert _live_revision(db) == 3


def test_the_versions_page_moves_learners_on(
    designer_client: tuple[Database, factories.CourseFixture, FlaskClient], tmp_path: Path
) -> None:
    db, course, client = designer_client
    a, b = course.learner("Ann Early"), course.learner("Ben Early")
    for learner in (a, b):
        evidence.save_draft(db, learner.context_id, learner.user_id, ORIGINAL[0], {}, {})
    load_course_maps(db, [edited_map(tmp_path)])
    page = _text(client.get("/design/map-versions/").data)
    block = re.search(rf'<div class="stack-behind" data-stack="{STACK}">(.*?)</div>', page)
    assert block and "Ann Early" in block.group(1) and "Ben Early" in block.group(1)
    assert "revision 1" in block.group(1) and "Move to revision 2" in block.group(1)

    one = client.post(f"/design/map-versions/stacks/{STACK}/move", data={"user_id": str(a.user_id)})
    assert one.status_code == 303 and "notice=moved" in one.headers["Location"]
    page = _text(client.get(one.headers["Location"]).data)
    assert "Moved to the live version of the stack." in page
    assert f'data-learner="{a.user_id}"' not in page and f'data-learner="{b.user_id}"' in page
    everyone = client.post(f"/design/map-versions/stacks/{STACK}/move", data={})
    assert everyone.status_code == 303
    with db.read() as session:
        versions = set(session.scalars(select(LearnerStackVersion.map_version_id)))
    assert len(versions) == 1
    assert _actions(db).count("learner.stack_version_moved") == 2
    again = client.post(f"/design/map-versions/stacks/{STACK}/move", data={"user_id": str(a.user_id)})
    assert again.status_code == 303 and "notice=moved_none" in again.headers["Location"]


@pytest.fixture
def csrf_app(sqlite_url: str, tmp_path: Path):  # type: ignore[no-untyped-def]
    application = create_app(app_config(sqlite_url, tmp_path, WTF_CSRF_ENABLED=True))
    yield application
    application.extensions["db"].dispose()


def test_upload_publish_and_move_need_the_csrf_token(csrf_app: Flask, tmp_path: Path) -> None:
    db: Database = csrf_app.extensions["db"]
    factories.load_shipped_map(db)
    course = factories.course(db)
    client = csrf_app.test_client()
    factories.sign_in(client, course.designer())
    forged = upload(client, (zip_folder(edited_map(tmp_path)), "v2.zip"))
    assert forged.status_code == 400 and "CSRF" in forged.data.decode()
    assert client.post(f"/design/map-versions/stacks/{STACK}/move", data={}).status_code == 400
    page = client.get("/design/map-versions/").data.decode()
    tokens = set(re.findall(r'name="csrf_token" value="([^"]+)"', page))
    assert len(tokens) == 1
    data = {
        "csrf_token": tokens.pop(),
        "files": [(io.BytesIO(zip_folder(edited_map(tmp_path / "2"))), "v2.zip")],
    }
    ok = client.post("/design/map-versions/uploads", data=data, content_type="multipart/form-data")
    assert ok.status_code == 303
    assert _uploads(db) == 1

"""Evidence uploads and links (issue 7): refused files leave nothing on disk, a per-learner quota, the
``uploads clean`` command, link lengths on both databases, a content-checked allowlist, clean file names."""

from __future__ import annotations

import io
import os
import re
import struct
import time
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from lti_tool import create_app
from lti_tool.db import Database
from lti_tool.db.models import Artifact
from lti_tool.services import artifacts, evidence
from lti_tool.services.errors import Conflict, ServiceError
from lti_tool.storage import FileStore
from lti_tool.web.auth import Actor
from tests import factories
from tests.conftest import app_config

CRED = "ef-foundations-of-practice"  # student-work: student_work, 2 to 4; learner-profiles: document, 2
VIDEO_CRED = "ef-empowering-your-learners"  # lesson-video: classroom_video
LINK_CRED = "lm-engaging-your-peers"  # session-link: link


# --- sample files -----------------------------------------------------------------------------------------


def png() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00"))
        + chunk(b"IEND", b"")
    )


def _zip(*entries: tuple[str, str]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, text in entries:
            z.writestr(name, text)
    return buf.getvalue()


def docx() -> bytes:
    return _zip(("[Content_Types].xml", "<Types/>"), ("_rels/.rels", "<R/>"), ("word/document.xml", "<w/>"))


PDF = b"%PDF-1.4\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n"
MP4 = b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2" + b"\x00" * 64
TEXT = "Exit tickets, période 3 \u2014 names removed.\n".encode()


# --- scene ------------------------------------------------------------------------------------------------


@dataclass
class Scene:
    app: Flask
    db: Database
    client: FlaskClient
    course: factories.CourseFixture
    learner: Actor

    @property
    def upload_dir(self) -> Path:
        return Path(self.app.extensions["settings"].upload_dir)

    def files(self) -> list[Path]:
        """Every file in UPLOAD_DIR, stored or temporary."""
        return (
            sorted(p for p in self.upload_dir.rglob("*") if p.is_file()) if self.upload_dir.exists() else []
        )

    def upload(
        self,
        content: bytes,
        name: str = "work.txt",
        requirement: str = "student-work",
        cred: str = CRED,
        **form: str,
    ) -> tuple[int, str]:
        response = self.client.post(
            f"/learn/credentials/{cred}/artifacts",
            data={"requirement_id": requirement, "file": (io.BytesIO(content), name), **form},
            content_type="multipart/form-data",
        )
        return response.status_code, re.sub(r"\s+", " ", response.data.decode())

    def link(self, url: str, label: str = "", requirement: str = "learner-profiles") -> tuple[int, str]:
        response = self.client.post(
            f"/learn/credentials/{CRED}/artifacts",
            data={"requirement_id": requirement, "url": url, "label": label},
        )
        return response.status_code, re.sub(r"\s+", " ", response.data.decode())

    def artifacts(self, cred: str = CRED) -> list[evidence.ArtifactView]:
        return evidence.open_submission(
            self.db, self.learner.context_id, self.learner.user_id, cred
        ).artifacts


def _scene(app: Flask) -> Scene:
    db: Database = app.extensions["db"]
    factories.load_shipped_map(db)
    course = factories.course(db)
    learner = course.learner("Lena Learner")
    client = app.test_client()
    factories.sign_in(client, learner)
    return Scene(app, db, client, course, learner)


@pytest.fixture
def scene(app: Flask) -> Scene:
    return _scene(app)


@pytest.fixture
def sqlite_scene(sqlite_app: Flask) -> Scene:
    return _scene(sqlite_app)


def _store(scene: Scene) -> FileStore:
    return FileStore(scene.upload_dir)


class RacingStream(io.BytesIO):
    """An upload during which ``before_read`` runs once (another request of the same learner)."""

    def __init__(self, content: bytes, before_read: Callable[[], None]) -> None:
        super().__init__(content)
        self.before_read: Callable[[], None] | None = before_read

    def read(self, size: int | None = -1) -> bytes:
        if self.before_read is not None:
            hook, self.before_read = self.before_read, None
            hook()
        return super().read(size)


class Unreadable(io.RawIOBase):
    def read(self, size: int = -1) -> bytes:  # type: ignore[override]
        raise AssertionError("a refused upload must not be read")


# --- 1. refused uploads leave nothing on disk -------------------------------------------------------------


def test_uploads_beyond_the_maximum_leave_no_files(sqlite_scene: Scene) -> None:
    statuses = [sqlite_scene.upload(f"work sample {n}\n".encode(), f"w{n}.txt")[0] for n in range(7)]
    assert statuses == [303] * 4 + [400] * 3  # student-work allows 4
    assert len(sqlite_scene.artifacts()) == 4
    stored = sqlite_scene.files()
    assert len(stored) == 4
    assert {p.name for p in stored} == {
        f.sha256 for f in _rows(sqlite_scene.db) if f.sha256
    }  # exactly the referenced ones, no temporary files


def _rows(db: Database) -> list[Artifact]:
    with db.read() as session:
        return list(session.query(Artifact))


def test_an_upload_refused_by_the_transaction_removes_its_file_but_not_a_shared_one(scene: Scene) -> None:
    learner, db = scene.learner, scene.db
    store = _store(scene)

    def upload(content: bytes, stream: io.BytesIO | None = None) -> evidence.SubmissionView:
        return artifacts.add_file_artifact(
            db, store, learner.context_id, learner.user_id, CRED, "student-work",
            "work.txt", "text/plain", stream or io.BytesIO(content), 1024 * 1024,
        )  # fmt: skip

    def another_request_fills_the_last_slot() -> None:
        artifacts.add_link_artifact(
            db, learner.context_id, learner.user_id, CRED, "student-work", "https://docs.example/w", ""
        )

    shared = b"the same sample, uploaded twice\n"
    upload(shared)
    upload(b"second sample\n")
    [kept_file] = [p for p in scene.files() if p.name == _rows(db)[0].storage_key]
    # the checks before reading pass (2 of 4); while the file is read, two links fill the requirement
    for content in (shared, b"a new sample nobody else has\n"):
        racing = RacingStream(content, another_request_fills_the_last_slot)
        if content == shared:
            upload(b"third sample\n")
        with pytest.raises(ServiceError) as refused:
            upload(content, racing)
        assert refused.value.code == "too_many_artifacts"
        assert racing.before_read is None  # it was read: the refusal came from the transaction
        artifacts.remove_artifact(
            db, learner.context_id, learner.user_id, CRED, scene.artifacts()[-1].id, store
        )  # the link; room for the next round
    keys = {a.storage_key for a in _rows(db) if a.storage_key}
    assert {p.name for p in scene.files()} == keys  # the new file is gone, no temporary file left
    assert kept_file.read_bytes() == shared  # the refused upload of the shared content kept it


def test_nothing_is_read_or_written_for_evidence_that_cannot_change(sqlite_scene: Scene) -> None:
    scene = sqlite_scene
    credential = factories.load_shipped_map(scene.db).credential(CRED)
    factories.complete_evidence(scene.db, scene.learner, credential)
    evidence.submit(scene.db, scene.learner.context_id, scene.learner.user_id, CRED)
    with pytest.raises(Conflict) as refused:
        artifacts.add_file_artifact(
            scene.db, _store(scene), scene.learner.context_id, scene.learner.user_id, CRED, "student-work",
            "late.txt", "text/plain", Unreadable(), 1024,  # type: ignore[arg-type]
        )  # fmt: skip
    assert refused.value.code == "awaiting_review"
    assert scene.files() == []


def test_removing_an_artifact_removes_its_file_unless_another_shares_it(sqlite_scene: Scene) -> None:
    scene = sqlite_scene
    assert scene.upload(b"one sample\n", "a.txt")[0] == 303
    assert scene.upload(b"one sample\n", "b.txt")[0] == 303
    first, second = scene.artifacts()
    assert len(scene.files()) == 1
    scene.client.post(f"/learn/credentials/{CRED}/artifacts/{first.id}/remove")
    assert len(scene.files()) == 1  # still the second artifact's
    scene.client.post(f"/learn/credentials/{CRED}/artifacts/{second.id}/remove")
    assert scene.files() == []


# --- 2. the learner's quota -------------------------------------------------------------------------------


@pytest.fixture
def quota_app(database_url: str, tmp_path: Path) -> Iterator[Flask]:
    application = create_app(app_config(database_url, tmp_path, LEARNER_QUOTA_MB=1))
    yield application
    application.extensions["db"].dispose()


def test_a_learner_has_a_storage_quota_per_course(quota_app: Flask) -> None:
    scene = _scene(quota_app)
    evidence.save_draft(
        scene.db, scene.learner.context_id, scene.learner.user_id, CRED, {"research": "My saved draft"}, {}
    )
    part = 700 * 1024
    assert scene.upload(b"a" * part, "first.txt")[0] == 303
    status, page = scene.upload(b"b" * part, "second.txt")
    assert status == 413
    assert "You have used 0.7 MB of your 1 MB for uploaded files in this course" in page
    assert "Nothing was saved." in page
    assert "My saved draft</textarea>" in page  # nothing lost
    assert [a.filename for a in scene.artifacts()] == ["first.txt"]
    assert len(scene.files()) == 1  # the refused file is not kept, not even as a temporary file

    # a file that fits still goes in; then the quota is full and the next is refused before it is read
    assert scene.upload(b"c" * (1024 * 1024 - part), "fits.txt")[0] == 303
    with pytest.raises(ServiceError) as full:
        artifacts.add_file_artifact(
            scene.db, _store(scene), scene.learner.context_id, scene.learner.user_id, CRED, "student-work",
            "more.txt", "text/plain", Unreadable(), 1024 * 1024,  # type: ignore[arg-type]
            quota_bytes=1024 * 1024,
        )  # fmt: skip
    assert full.value.code == "quota_exceeded" and "You have used 1 MB of your 1 MB" in full.value.message

    # another learner of the course has a quota of their own
    other = scene.course.learner("Olga Other")
    factories.sign_in(scene.client, other)
    assert scene.upload(b"d" * part, "theirs.txt")[0] == 303


# --- 3. lti-tool uploads clean ----------------------------------------------------------------------------


def test_uploads_clean_removes_orphans_and_stale_temporary_files(scene: Scene) -> None:
    assert scene.upload(TEXT, "kept.txt")[0] == 303
    [kept] = scene.files()
    orphan_key = "ab" + "0" * 62
    orphan = scene.upload_dir / "ab" / orphan_key
    orphan.parent.mkdir(parents=True, exist_ok=True)
    orphan.write_bytes(b"left behind by an earlier version")
    stale = scene.upload_dir / ".upload-stale"
    stale.write_bytes(b"an interrupted upload")
    hours_ago = time.time() - 2 * 3600
    os.utime(stale, (hours_ago, hours_ago))
    fresh = scene.upload_dir / ".upload-in-progress"
    fresh.write_bytes(b"being uploaded now")
    foreign = scene.upload_dir / "README.txt"
    foreign.write_text("not ours to delete")

    runner = scene.app.test_cli_runner()
    dry = runner.invoke(args=["uploads", "clean", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert f"would remove {orphan} " in dry.output and "orphan" in dry.output
    assert f"would remove {stale} " in dry.output and "stale temporary upload" in dry.output
    assert "would remove 2 file(s)" in dry.output
    assert str(kept) not in dry.output and str(fresh) not in dry.output and str(foreign) not in dry.output
    assert orphan.exists() and stale.exists()  # a dry run only lists

    result = runner.invoke(args=["uploads", "clean"])
    assert result.exit_code == 0, result.output
    assert f"removed {orphan} " in result.output and f"removed {stale} " in result.output
    assert set(scene.files()) == {kept, fresh, foreign}
    assert scene.client.get(f"/learn/artifacts/{scene.artifacts()[0].id}").data == TEXT

    again = runner.invoke(args=["uploads", "clean"])
    assert "nothing to remove" in again.output


# --- 4. links: lengths and schemes, the same on both databases --------------------------------------------


def test_a_long_link_without_a_label_is_kept_with_a_shortened_label(scene: Scene) -> None:
    long_url = "https://video.example/lesson?" + "t=1&" * 100  # 429 characters
    status, _ = scene.link(long_url)
    assert status == 303  # was a 500 on PostgreSQL: the label defaulted to the whole URL
    [artifact] = scene.artifacts()
    assert artifact.url == long_url
    assert len(artifact.label) == 255 and artifact.label.endswith("\u2026")
    assert long_url.startswith(artifact.label[:-1])


@pytest.mark.parametrize(
    ("url", "label", "message"),
    [
        (
            "https://video.example/" + "x" * 2040,
            "",
            "A link can be at most 2048 characters; this one has 2062.",
        ),
        (
            "https://video.example/lesson",
            "L" * 256,
            "A label can be at most 255 characters; this one has 256.",
        ),
        ("javascript:alert(1)", "", "Links must be full http(s) addresses"),
        ("JAVASCRIPT://example.com/%0aalert(1)", "", "Links must be full http(s) addresses"),
        ("data:text/html,<script>alert(1)</script>", "", "Links must be full http(s) addresses"),
        ("https:///no-host", "", "Links must be full http(s) addresses"),
        ("http://[::1", "", "Links must be full http(s) addresses"),  # was a 500: urlparse raised
        ("http://example.com:port/", "", "Links must be full http(s) addresses"),  # was accepted
        ("https://exa mple.com/", "", "Links must be full http(s) addresses"),
        ("https://example.com/\u202eexe.txt", "", "Links must be full http(s) addresses"),
    ],
)
def test_bad_links_are_refused_with_a_clear_message(scene: Scene, url: str, label: str, message: str) -> None:
    status, page = scene.link(url, label)
    assert status == 400
    assert message in page
    assert scene.artifacts() == []


# --- 5. the allowlist, by content -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "name", "stored_as", "stored_type"),
    [
        (png(), "photo.png", "photo.png", "image/png"),
        (PDF, "plan.pdf", "plan.pdf", "application/pdf"),
        (
            docx(),
            "plan.docx",
            "plan.docx",
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        ),
        (MP4, "lesson.mp4", "lesson.mp4", "video/mp4"),
        (TEXT, "notes.txt", "notes.txt", "text/plain"),
        # the content decides, not the name or the browser's claim
        (png(), "photo.html", "photo.html.png", "image/png"),
        (TEXT, "run.sh", "run.sh.txt", "text/plain"),
    ],
)
def test_accepted_files_are_stored_with_the_type_of_their_content(
    sqlite_scene: Scene, content: bytes, name: str, stored_as: str, stored_type: str
) -> None:
    response = sqlite_scene.client.post(
        f"/learn/credentials/{CRED}/artifacts",
        data={"requirement_id": "student-work", "file": (io.BytesIO(content), name, "text/html")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 303
    [artifact] = sqlite_scene.artifacts()
    assert (artifact.filename, artifact.content_type) == (stored_as, stored_type)


@pytest.mark.parametrize(
    ("content", "name", "detected"),
    [
        (
            b"<!DOCTYPE html><html><script>alert(document.cookie)</script></html>",
            "work.txt",
            "HTML or XML markup",
        ),
        (
            b'\xef\xbb\xbf  <svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>',
            "pic.svg",
            "HTML or XML",
        ),
        (b"\x7fELF\x02\x01\x01" + b"\x00" * 80, "tool", "a ELF file (application/x-executable)"),
        (b"MZ\x90\x00" + b"\x00" * 80, "setup.pdf", "(application/x-msdownload)"),
        (_zip(("notes.txt", "hello")), "work.docx", "a ZIP archive that is not an office document"),
        (bytes(range(128, 256)) * 4, "data.bin", "a binary file of unknown type"),
        (b"text with a NUL \x00 inside", "notes.txt", "a binary file of unknown type"),
    ],
)
def test_other_files_are_refused_naming_what_was_detected(
    sqlite_scene: Scene, content: bytes, name: str, detected: str
) -> None:
    status, page = sqlite_scene.upload(content, name)
    assert status == 415
    assert "That file was recognised as" in page and detected in page
    assert "Accepted for student work: PDF, office documents" in page and "Nothing was saved." in page
    assert sqlite_scene.artifacts() == [] and sqlite_scene.files() == []


def test_requirement_kinds_restrict_the_types(sqlite_scene: Scene) -> None:
    scene = sqlite_scene
    # the page says what each requirement accepts, and offers no file input where only links are taken
    video_page = scene.client.get(f"/learn/credentials/{VIDEO_CRED}").data.decode()
    assert "Accepted: video (MP4, WebM, MOV)." in video_page
    assert 'accept=".mp4,.m4v,' in video_page
    status, page = scene.upload(PDF, "lesson.pdf", "lesson-video", VIDEO_CRED)
    assert status == 415
    assert (
        "recognised as PDF document (application/pdf). Accepted for classroom video: video (MP4, WebM, MOV)"
        in page
    )
    assert scene.upload(MP4, "lesson.mp4", "lesson-video", VIDEO_CRED)[0] == 303
    status, page = scene.upload(MP4, "lesson.mp4", "learner-profiles")
    assert status == 415 and "Accepted for document:" in page
    status, page = scene.upload(TEXT, "notes.txt", "session-link", LINK_CRED)
    assert status == 400 and "This requirement takes a link, not a file" in page
    assert scene.files() and len(scene.files()) == 1
    link_page = scene.client.get(f"/learn/credentials/{LINK_CRED}").data.decode()
    form = link_page.split('data-requirement="session-link"', 1)[1].split("</form>", 1)[0]
    assert 'type="file"' not in form and 'type="url"' in form


def test_stored_files_are_served_with_their_type_inline_only_when_safe(sqlite_scene: Scene) -> None:
    scene = sqlite_scene
    for content, name in (
        (png(), "photo.png"),
        (PDF, "plan.pdf"),
        (TEXT, "notes.txt"),
        (docx(), "plan.docx"),
    ):
        assert scene.upload(content, name)[0] == 303
    served = {a.filename: scene.client.get(f"/learn/artifacts/{a.id}") for a in scene.artifacts()}
    for response in served.values():
        assert response.status_code == 200
        assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert served["photo.png"].mimetype == "image/png"
    assert served["photo.png"].headers["Content-Disposition"].startswith("inline")
    assert served["plan.pdf"].mimetype == "application/pdf"
    assert served["plan.pdf"].headers["Content-Disposition"].startswith("inline")
    assert served["notes.txt"].mimetype == "text/plain"
    assert served["notes.txt"].headers["Content-Disposition"].startswith("attachment")
    assert served["plan.docx"].headers["Content-Disposition"].startswith("attachment")

    # a file stored before the allowlist, with the browser's claim "text/html": bytes, as a download
    with scene.db.transaction() as session:
        legacy = session.get(Artifact, scene.artifacts()[2].id)
        assert legacy is not None
        legacy.content_type, legacy.filename = "text/html", "page.html"
    response = scene.client.get(f"/learn/artifacts/{legacy.id}")
    assert response.mimetype == "application/octet-stream"
    assert response.headers["Content-Disposition"].startswith("attachment")


# --- 6. file names ----------------------------------------------------------------------------------------


def test_uploaded_file_names_are_cleaned(sqlite_scene: Scene) -> None:
    scene = sqlite_scene
    assert scene.upload(PDF, "../../secret\u202efdp.exe\x00.pdf")[0] == 303
    assert scene.upload(TEXT, "\u2066\u200f\x1b[31m")[0] == 303
    names = [(a.filename, a.label) for a in scene.artifacts()]
    assert names == [("secretfdp.exe.pdf", "secretfdp.exe.pdf"), ("[31m.txt", "[31m.txt")]

"""Upload rules without I/O: file names cleaned, the allowlist per artifact kind, how files are served."""

from __future__ import annotations

import pytest

from lti_tool.domain.definitions import ArtifactKind
from lti_tool.domain.uploads import (
    BY_MIME,
    MAX_FILENAME,
    accepted_kinds,
    accepts_files,
    clean_filename,
    describe_accepted,
    is_accepted,
    served_content_type,
    served_inline,
    with_extension,
)


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("plan.pdf", "plan.pdf"),
        # bidirectional overrides make "invoice\u202egpj.exe" look like "invoiceexe.jpg"
        ("invoice\u202egpj.exe", "invoicegpj.exe"),
        ("a\u202ab\u202bc\u202cd\u202de\u202ef.txt", "abcdef.txt"),
        ("\u2066x\u2067y\u2068z\u2069.pdf", "xyz.pdf"),
        ("left\u200eright\u200farabic\u061c.doc", "leftrightarabic.doc"),
        # C0 controls, DEL and C1 controls
        ("a\x00b\x01c\x1fd\x7fe\x80f\x85g\x9f.txt", "abcdefg.txt"),
        ("multi\nline\r\tname.txt", "multilinename.txt"),
        # path separators: only the last segment is kept
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\me\\Lesson plan.docx", "Lesson plan.docx"),
        ("dir/sub/", "sub"),
        ("  spaced   out  name .txt ", "spaced out name .txt"),
        # never empty, never hidden
        ("", "upload"),
        ("   ", "upload"),
        ("\u202e\u200f\x00", "upload"),
        ("/", "upload"),
        ("..", "upload"),
        (".pdf", "upload.pdf"),
        ("...hidden", "upload.hidden"),
        ("trailing dots...", "trailing dots"),
    ],
)
def test_clean_filename(raw: str, clean: str) -> None:
    assert clean_filename(raw) == clean


def test_clean_filename_is_capped_and_keeps_the_extension() -> None:
    name = clean_filename("x" * 1000 + ".pdf")
    assert len(name) == MAX_FILENAME
    assert name.endswith("xxx.pdf")
    assert clean_filename("y" * 1000) == "y" * MAX_FILENAME
    assert len(clean_filename("é" * 300 + ".docx", max_length=20)) == 20


def test_with_extension_names_files_by_what_they_are() -> None:
    png, text = BY_MIME["image/png"], BY_MIME["text/plain"]
    assert with_extension("photo.png", png) == "photo.png"
    assert with_extension("photo.PNG", png) == "photo.PNG"
    assert with_extension("photo.html", png) == "photo.html.png"
    assert with_extension("notes", text) == "notes.txt"
    assert with_extension("data.csv", text) == "data.csv"
    long = with_extension("z" * 500 + ".html", png)
    assert len(long) == MAX_FILENAME and long.endswith(".png")


def test_each_kind_accepts_its_families() -> None:
    assert is_accepted(ArtifactKind.CLASSROOM_VIDEO, "video/mp4")
    assert is_accepted(ArtifactKind.CLASSROOM_VIDEO, "video/quicktime")
    assert not is_accepted(ArtifactKind.CLASSROOM_VIDEO, "application/pdf")
    assert is_accepted(ArtifactKind.DOCUMENT, "application/pdf")
    assert is_accepted(ArtifactKind.LESSON_PLAN, BY_MIME["application/msword"].mime)
    assert not is_accepted(ArtifactKind.DOCUMENT, "video/mp4")
    assert all(is_accepted(ArtifactKind.STUDENT_WORK, k.mime) for k in BY_MIME.values())
    assert not accepts_files(ArtifactKind.LINK) and accepted_kinds(ArtifactKind.LINK) == ()
    assert describe_accepted(ArtifactKind.LINK) == "links only"
    assert describe_accepted(ArtifactKind.CLASSROOM_VIDEO) == "video (MP4, WebM, MOV)"
    for mime in ("text/html", "image/svg+xml", "application/zip", "application/x-msdownload", ""):
        assert not is_accepted(ArtifactKind.OTHER, mime)


def test_only_accepted_images_pdf_and_video_are_served_inline() -> None:
    assert served_inline("image/png") and served_inline("application/pdf") and served_inline("video/webm")
    assert not served_inline("text/plain") and not served_inline(BY_MIME["application/msword"].mime)
    assert not served_inline("audio/mpeg")
    # a type recorded before the allowlist (the browser's claim) is served as bytes, as a download
    for claimed in ("text/html", "image/svg+xml", None, "application/javascript"):
        assert served_content_type(claimed) == "application/octet-stream"
        assert not served_inline(served_content_type(claimed))
    assert served_content_type("image/png") == "image/png"

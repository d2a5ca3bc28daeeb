"""Which uploaded files a requirement accepts, how they are served back, and how their names are cleaned.

Pure rules: the content itself is identified elsewhere (``services.filetypes``); here only the allowlist
by MIME type, per artifact kind of the course map.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from enum import StrEnum

from .definitions import ArtifactKind


class Family(StrEnum):
    IMAGE = "image"
    PDF = "pdf"
    DOCUMENT = "document"
    VIDEO = "video"
    AUDIO = "audio"
    TEXT = "text"


@dataclass(frozen=True)
class FileKind:
    mime: str
    name: str
    extensions: tuple[str, ...]  # the first is the one added to a file name that has none of them
    family: Family


ACCEPTED: tuple[FileKind, ...] = (
    FileKind("image/png", "PNG image", ("png",), Family.IMAGE),
    FileKind("image/jpeg", "JPEG image", ("jpg", "jpeg", "jpe"), Family.IMAGE),
    FileKind("image/gif", "GIF image", ("gif",), Family.IMAGE),
    FileKind("image/webp", "WebP image", ("webp",), Family.IMAGE),
    FileKind("application/pdf", "PDF document", ("pdf",), Family.PDF),
    FileKind(
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "Word document",
        ("docx",),
        Family.DOCUMENT,
    ),
    FileKind(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "Excel workbook",
        ("xlsx",),
        Family.DOCUMENT,
    ),
    FileKind(
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        "PowerPoint presentation",
        ("pptx",),
        Family.DOCUMENT,
    ),
    FileKind("application/vnd.oasis.opendocument.text", "OpenDocument text", ("odt",), Family.DOCUMENT),
    FileKind(
        "application/vnd.oasis.opendocument.spreadsheet",
        "OpenDocument spreadsheet",
        ("ods",),
        Family.DOCUMENT,
    ),
    FileKind(
        "application/vnd.oasis.opendocument.presentation",
        "OpenDocument presentation",
        ("odp",),
        Family.DOCUMENT,
    ),
    FileKind("application/msword", "Word 97-2003 document", ("doc",), Family.DOCUMENT),
    FileKind("application/vnd.ms-excel", "Excel 97-2003 workbook", ("xls",), Family.DOCUMENT),
    FileKind("application/vnd.ms-powerpoint", "PowerPoint 97-2003 presentation", ("ppt",), Family.DOCUMENT),
    FileKind("video/mp4", "MP4 video", ("mp4", "m4v"), Family.VIDEO),
    FileKind("video/x-m4v", "M4V video", ("m4v", "mp4"), Family.VIDEO),
    FileKind("video/webm", "WebM video", ("webm",), Family.VIDEO),
    FileKind("video/quicktime", "QuickTime video", ("mov", "qt"), Family.VIDEO),
    FileKind("audio/mpeg", "MP3 audio", ("mp3",), Family.AUDIO),
    FileKind("audio/mp4", "M4A audio", ("m4a",), Family.AUDIO),
    FileKind("audio/x-wav", "WAV audio", ("wav",), Family.AUDIO),
    FileKind("text/plain", "plain text", ("txt", "text", "csv", "md"), Family.TEXT),
)

BY_MIME: dict[str, FileKind] = {k.mime: k for k in ACCEPTED}
TEXT = BY_MIME["text/plain"]

_ALL = frozenset(Family)
_DOCUMENTS = frozenset({Family.PDF, Family.DOCUMENT, Family.TEXT, Family.IMAGE})

# What each artifact kind of a course map accepts as an uploaded file. A "link" requirement takes links only.
FAMILIES_FOR_KIND: dict[ArtifactKind, frozenset[Family]] = {
    ArtifactKind.STUDENT_WORK: _ALL,
    ArtifactKind.CLASSROOM_VIDEO: frozenset({Family.VIDEO}),
    ArtifactKind.LESSON_PLAN: _DOCUMENTS,
    ArtifactKind.DOCUMENT: _DOCUMENTS,
    ArtifactKind.LINK: frozenset(),
    ArtifactKind.OTHER: _ALL,
}

_FAMILY_TEXT = {
    Family.PDF: "PDF",
    Family.DOCUMENT: "office documents (Word, Excel, PowerPoint, OpenDocument)",
    Family.IMAGE: "images (PNG, JPEG, GIF, WebP)",
    Family.VIDEO: "video (MP4, WebM, MOV)",
    Family.AUDIO: "audio (MP3, M4A, WAV)",
    Family.TEXT: "plain text (.txt)",
}

# Served in the browser; every other type is a download (Content-Disposition: attachment).
INLINE_FAMILIES = frozenset({Family.IMAGE, Family.PDF, Family.VIDEO})


def accepts_files(kind: ArtifactKind) -> bool:
    return bool(FAMILIES_FOR_KIND[kind])


def accepted_kinds(kind: ArtifactKind) -> tuple[FileKind, ...]:
    families = FAMILIES_FOR_KIND[kind]
    return tuple(k for k in ACCEPTED if k.family in families)


def is_accepted(kind: ArtifactKind, mime: str) -> bool:
    found = BY_MIME.get(mime)
    return found is not None and found.family in FAMILIES_FOR_KIND[kind]


def describe_accepted(kind: ArtifactKind) -> str:
    """E.g. "PDF, office documents (Word, ...), images (PNG, ...), plain text (.txt)"; "links only"."""
    families = FAMILIES_FOR_KIND[kind]
    if not families:
        return "links only"
    return ", ".join(text for family, text in _FAMILY_TEXT.items() if family in families)


def accept_attribute(kind: ArtifactKind) -> str:
    """The file input's ``accept``: a hint for the browser's file chooser (the server checks the content)."""
    return ",".join(f".{ext}" for k in accepted_kinds(kind) for ext in k.extensions)


def served_content_type(stored: str | None) -> str:
    """The type a stored file is served with: an accepted type as recorded, anything else as bytes."""
    return stored if stored in BY_MIME else "application/octet-stream"


def served_inline(content_type: str) -> bool:
    found = BY_MIME.get(content_type)
    return found is not None and found.family in INLINE_FAMILIES


# --- file names ------------------------------------------------------------------------------------------

MAX_FILENAME = 150
FALLBACK_NAME = "upload"
# Bidirectional embeddings/overrides/isolates and marks: they make "evil\u202egpj.exe" read "evilexe.jpg".
_BIDI = frozenset(
    "\u202a\u202b\u202c\u202d\u202e"  # LRE RLE PDF LRO RLO
    "\u2066\u2067\u2068\u2069"  # LRI RLI FSI PDI
    "\u200e\u200f\u061c"  # LRM RLM ALM
    "\u2028\u2029\ufeff"  # line/paragraph separators, zero-width no-break space
)


def is_control_or_bidi(char: str) -> bool:
    # Cc is every C0 control, DEL and every C1 control.
    return char in _BIDI or unicodedata.category(char) == "Cc"


def clean_filename(name: str, max_length: int = MAX_FILENAME) -> str:
    """A file name safe to store and show: no directories, no control or bidi characters, capped, never empty.

    Only the last path segment is kept (``C:\\Users\\me\\plan.pdf`` is ``plan.pdf``); runs of white space
    become one space; leading dots cannot make a hidden file; the extension survives the length cap.
    """
    name = unicodedata.normalize("NFC", name)
    name = "".join(c for c in name if not is_control_or_bidi(c))
    segments = [s for s in name.replace("\\", "/").split("/") if s.strip(" .")]
    name = " ".join(segments[-1].split()) if segments else ""
    name = name.rstrip(" .")
    if name.startswith("."):
        name = FALLBACK_NAME + "." + name.lstrip(".")
    if not name:
        return FALLBACK_NAME
    return _cap(name, max_length)


def _split_extension(name: str) -> tuple[str, str]:
    stem, dot, ext = name.rpartition(".")
    if not dot or not stem or not ext or len(ext) > 10 or " " in ext:
        return name, ""
    return stem, "." + ext


def _cap(name: str, max_length: int) -> str:
    if len(name) <= max_length:
        return name
    stem, ext = _split_extension(name)
    if len(ext) >= max_length // 2:
        stem, ext = name, ""
    stem = stem[: max_length - len(ext)].rstrip(" .") or FALLBACK_NAME[: max_length - len(ext)]
    return stem + ext


def with_extension(name: str, kind: FileKind, max_length: int = MAX_FILENAME) -> str:
    """``name`` ending in an extension of ``kind``: a PNG named ``photo.html`` becomes ``photo.html.png``."""
    _, ext = _split_extension(name)
    if ext[1:].lower() in kind.extensions:
        return _cap(name, max_length)
    suffix = "." + kind.extensions[0]
    stem = _cap(name, max_length - len(suffix))
    return stem + suffix

"""What an uploaded file really is, judged by its content (the ``filetype`` library), never by its name.

Binary formats are recognised by ``filetype`` from the first bytes. Plain text has no signature: a file
that matches no format is text when it decodes as UTF-8 and holds no NUL; text that opens with markup
(HTML, SVG, XML) is not plain text.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass
from pathlib import Path

import filetype

from ..domain.uploads import BY_MIME, TEXT

HEAD_BYTES = 8192  # as much as filetype's matchers look at
_CHUNK = 1024 * 1024


@dataclass(frozen=True)
class Detected:
    mime: str | None  # None: not a format we could name
    description: str  # for messages: "a ZIP archive (application/zip)"


UNKNOWN_BINARY = Detected(None, "a binary file of unknown type")
MARKUP = Detected(None, "HTML or XML markup (a web page, SVG image or similar)")
PLAIN_TEXT = Detected(TEXT.mime, f"{TEXT.name} ({TEXT.mime})")


def _named(mime: str, extension: str) -> Detected:
    known = BY_MIME.get(mime)
    if known is not None:
        return Detected(mime, f"{known.name} ({mime})")
    if mime == "application/zip":
        return Detected(mime, "a ZIP archive that is not an office document (application/zip)")
    return Detected(mime, f"a {extension.upper()} file ({mime})")


def _looks_like_markup(text: str) -> bool:
    start = text.lstrip("\ufeff \t\r\n\f")
    return len(start) > 1 and start[0] == "<" and (start[1].isalpha() or start[1] in "!?/")


def identify_head(head: bytes) -> Detected | None:
    """What the first bytes of a file show; None when they may still be plain text (see ``identify_text``)."""
    match = filetype.match(bytes(head[:HEAD_BYTES]))
    if match is not None:
        return _named(str(match.mime), str(match.extension))
    if b"\0" in head:
        return UNKNOWN_BINARY
    text = codecs.getincrementaldecoder("utf-8")(errors="strict")
    try:
        decoded = text.decode(head, final=False)
    except UnicodeDecodeError:
        return UNKNOWN_BINARY
    if _looks_like_markup(decoded):
        return MARKUP
    return None


def identify(path: Path) -> Detected:
    """What a whole file is: a recognised format, plain text, markup, or unknown binary."""
    with path.open("rb") as f:
        head = f.read(HEAD_BYTES)
        found = identify_head(head)
        if found is not None:
            return found
        decoder = codecs.getincrementaldecoder("utf-8")(errors="strict")
        chunk = head
        try:
            while chunk:
                if b"\0" in chunk:
                    return UNKNOWN_BINARY
                decoder.decode(chunk, final=False)
                chunk = f.read(_CHUNK)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return UNKNOWN_BINARY
    return PLAIN_TEXT

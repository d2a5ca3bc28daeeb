"""Which links an artifact requirement accepts: any web link, or only a video link.

A video link is an http(s) address on a known video host (the host or one of its subdomains), or an
address whose path ends in a video file's extension (those of the video types ``uploads`` accepts as
files). A school's own video service that is not listed is reached through a video file's address, or the
course map accepts any link for that requirement (``accepts: [file, link]``).
"""

from __future__ import annotations

from collections.abc import Set
from dataclasses import dataclass
from urllib.parse import urlsplit

from .definitions import ArtifactInput
from .uploads import ACCEPTED, Family

# (name shown to learners, domains): a domain matches itself and its subdomains.
VIDEO_HOSTS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("YouTube", ("youtube.com", "youtu.be", "youtube-nocookie.com")),
    ("Vimeo", ("vimeo.com",)),
    (
        "Microsoft Stream, SharePoint or OneDrive",
        ("microsoftstream.com", "sharepoint.com", "onedrive.live.com", "1drv.ms"),
    ),
    ("Google Drive", ("drive.google.com",)),
    ("Kaltura", ("kaltura.com",)),
    ("Panopto", ("panopto.com", "panopto.eu")),
    ("Loom", ("loom.com",)),
    ("Wistia", ("wistia.com", "wistia.net")),
    ("Screencastify", ("screencastify.com",)),
)
VIDEO_DOMAINS: tuple[str, ...] = tuple(d for _, domains in VIDEO_HOSTS for d in domains)
VIDEO_EXTENSIONS: tuple[str, ...] = tuple(
    dict.fromkeys(ext for kind in ACCEPTED if kind.family is Family.VIDEO for ext in kind.extensions)
)


def _host(url: str) -> str:
    try:
        host = urlsplit(url).hostname or ""
    except ValueError:
        return ""
    return host.lower().rstrip(".")


def on_video_host(url: str) -> bool:
    host = _host(url)
    return bool(host) and any(host == d or host.endswith("." + d) for d in VIDEO_DOMAINS)


def is_video_file_url(url: str) -> bool:
    try:
        path = urlsplit(url).path.lower()
    except ValueError:
        return False
    return any(path.endswith("." + ext) for ext in VIDEO_EXTENSIONS)


def is_video_link(url: str) -> bool:
    """A link to a known video host, or to a video file (.mp4, .webm, .mov, ...)."""
    return on_video_host(url) or is_video_file_url(url)


def describe_video_links() -> str:
    """For learners: "YouTube, Vimeo, ... or a video file (.mp4, .m4v, .webm, .mov, .qt)"."""
    names = ", ".join(name for name, _ in VIDEO_HOSTS)
    files = ", ".join(f".{ext}" for ext in VIDEO_EXTENSIONS)
    return f"{names}, or a video file ({files})"


@dataclass(frozen=True)
class LinkRefusal:
    code: str
    message: str


def link_refusal(accepts: Set[ArtifactInput], url: str) -> LinkRefusal | None:
    """Why a requirement accepting ``accepts`` refuses the well-formed link ``url``; None if it takes it."""
    if ArtifactInput.LINK in accepts:
        return None
    if ArtifactInput.VIDEO_LINK in accepts:
        if is_video_link(url):
            return None
        return LinkRefusal(
            "not_a_video_link",
            f"This requirement takes a video: a link to {describe_video_links()}. "
            f"{_host(url) or 'That address'} is not a video link. Nothing was saved.",
        )
    return LinkRefusal(
        "file_only", "This requirement takes an uploaded file, not a link: upload the file itself."
    )


def describe_accepts(accepts: Set[ArtifactInput]) -> str:
    """What a requirement takes, for learners and designers: "a file or a video link", "a link", ..."""
    names = [
        text
        for value, text in (
            (ArtifactInput.FILE, "an uploaded file"),
            (ArtifactInput.LINK, "a link"),
            (ArtifactInput.VIDEO_LINK, "a video link"),
        )
        if value in accepts
    ]
    return " or ".join(names)

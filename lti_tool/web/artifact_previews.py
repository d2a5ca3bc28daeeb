"""How uploaded artifacts are shown to staff: which ones preview inline on the review page, and the
headers every artifact response carries so that no file can run script in the tool's origin.

The policy sandboxes the file's document (a unique origin: no cookies, no storage, no script of ours)
and allows nothing to load but its own images; Chromium's PDF viewer still renders a PDF under it (see
tests/browser/test_artifact_previews.py). SVG is never accepted as an upload and never served as an
image: any stored type outside the allowlist is a download of bytes (domain/uploads.py).
"""

from __future__ import annotations

from werkzeug.wrappers import Response

from ..domain import uploads

ARTIFACT_POLICY = (
    "sandbox; default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; frame-ancestors 'self'"
)


def protect(response: Response) -> Response:
    response.headers["Content-Security-Policy"] = ARTIFACT_POLICY
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def preview_kind(content_type: str | None) -> str | None:
    """The review page's inline preview of a file: "image", "pdf", or None for everything else (video,
    documents, and any type outside the allowlist, such as SVG)."""
    served = uploads.served_content_type(content_type)
    if not uploads.served_inline(served):
        return None
    found = uploads.BY_MIME[served]
    if found.family is uploads.Family.IMAGE:
        return "image"
    if found.family is uploads.Family.PDF:
        return "pdf"
    return None

"""Test copies of the Learning Differences map whose credentials are reviewed by panels."""

from __future__ import annotations

import shutil
from pathlib import Path

from lti_tool.config import REPO_ROOT

LEARNING_DIFFERENCES = REPO_ROOT / "course_maps" / "learning-differences"
PANEL_CREDENTIAL = "ef-foundations-of-practice"


def panel_map(
    parent: Path,
    review: str = "{panel: 3, decide: majority}",
    credentials: tuple[str, ...] = (PANEL_CREDENTIAL,),
) -> Path:
    """A copy of the map under ``parent`` (same id: it loads as a new version of it) in which each of
    ``credentials`` has ``review: <review>``; returns the map's directory."""
    root = parent / "learning-differences"
    shutil.copytree(LEARNING_DIFFERENCES, root)
    for credential in credentials:
        file = root / "credentials" / f"{credential}.yaml"
        file.write_text(file.read_text() + f"review: {review}\n")
    return root

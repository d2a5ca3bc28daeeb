"""Files in UPLOAD_DIR that no artifact refers to: removed when their artifact goes, or by
``lti-tool uploads clean`` (orphans left by earlier versions, interrupted uploads)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select

from ..db import Database
from ..db.models import Artifact
from ..storage import FileStore

STALE_TEMP_SECONDS = 3600


def _referenced(db: Database, storage_key: str) -> bool:
    with db.read() as session:
        found = session.scalar(select(Artifact.id).where(Artifact.storage_key == storage_key).limit(1))
    return found is not None


def delete_if_unreferenced(db: Database, store: FileStore, storage_key: str) -> bool:
    """Delete a stored file that no artifact row refers to (files are shared by content hash)."""
    if _referenced(db, storage_key):
        return False
    return store.delete(storage_key)


@dataclass(frozen=True)
class Removal:
    path: Path
    size_bytes: int
    reason: str  # "orphan" (no artifact refers to it) or "stale temporary upload"


@dataclass(frozen=True)
class CleanReport:
    removed: list[Removal]
    dry_run: bool

    @property
    def total_bytes(self) -> int:
        return sum(r.size_bytes for r in self.removed)


def clean_uploads(
    db: Database,
    store: FileStore,
    *,
    dry_run: bool = False,
    stale_after_seconds: int = STALE_TEMP_SECONDS,
    now: float | None = None,
) -> CleanReport:
    """Remove stored files no artifact refers to, and temporary ``.upload-*`` files older than
    ``stale_after_seconds``. Files that are neither (not named like stored files) are left alone.

    The files are listed before the artifact rows are read: an upload's file appears only after its row
    is committed, so every file listed whose key is absent from the rows read afterwards is an orphan.
    Each orphan is checked once more just before it is deleted.
    """
    now = time.time() if now is None else now
    entries = list(store.entries())
    with db.read() as session:
        referenced = set(
            session.scalars(select(Artifact.storage_key).where(Artifact.storage_key.is_not(None)).distinct())
        )
    removed: list[Removal] = []
    for entry in entries:
        if entry.temporary:
            if now - entry.modified < stale_after_seconds:
                continue
            if not dry_run:
                entry.path.unlink(missing_ok=True)
            removed.append(Removal(entry.path, entry.size_bytes, "stale temporary upload"))
        elif (
            entry.storage_key is not None
            and entry.storage_key not in referenced
            # delete_if_unreferenced asks once more: a row committed since the listing keeps its file
            and (dry_run or delete_if_unreferenced(db, store, entry.storage_key))
        ):
            removed.append(Removal(entry.path, entry.size_bytes, "orphan"))
    return CleanReport(removed, dry_run)

"""Artifact files on disk, named by content hash. Streamed under a size cap; no partial files.

An upload is first received into a temporary file (``.upload-*`` in the root); only when the caller keeps
it does it move to its content-hash name. A refused upload therefore never touches the stored files.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import BinaryIO

CHUNK = 1024 * 1024
HEAD = 8192
TEMP_PREFIX = ".upload-"
_HEX = frozenset("0123456789abcdef")


class TooLarge(Exception):
    def __init__(self, limit: int) -> None:
        super().__init__(f"larger than {limit} bytes")
        self.limit = limit


@dataclass(frozen=True)
class StoredFile:
    storage_key: str
    sha256: str
    size_bytes: int


@dataclass(frozen=True)
class Entry:
    """A file found in the store's root: a stored file (with its key), a temporary upload, or other."""

    path: Path
    storage_key: str | None
    temporary: bool
    size_bytes: int
    modified: float


def _is_key(name: str) -> bool:
    return len(name) == 64 and all(c in _HEX for c in name)


def _read_head(stream: BinaryIO) -> bytes:
    head = b""
    while len(head) < HEAD and (chunk := stream.read(HEAD - len(head))):
        head += chunk
    return head


class PendingFile:
    """A received upload in its temporary file. ``keep()`` stores it; leaving the ``with`` block without
    keeping it deletes it."""

    def __init__(self, store: FileStore, temp_path: Path, stored: StoredFile) -> None:
        self.store = store
        self.path = temp_path
        self.stored = stored
        self.kept = False

    def keep(self) -> StoredFile:
        final = self.store.path(self.stored.storage_key)
        final.parent.mkdir(parents=True, exist_ok=True)
        os.replace(self.path, final)
        self.kept = True
        return self.stored

    def discard(self) -> None:
        if not self.kept:
            self.path.unlink(missing_ok=True)

    def __enter__(self) -> PendingFile:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.discard()


class FileStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def receive(
        self, stream: BinaryIO, max_bytes: int, inspect_head: Callable[[bytes], None] | None = None
    ) -> PendingFile:
        """Read ``stream`` into a temporary file. ``inspect_head`` sees its first bytes before anything is
        written and may refuse it by raising; more than ``max_bytes`` raises TooLarge. Nothing is left
        behind when either refuses."""
        head = _read_head(stream)
        if len(head) > max_bytes:
            raise TooLarge(max_bytes)
        if inspect_head is not None:
            inspect_head(head)
        self.root.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha256(head)
        size = len(head)
        fd, tmp_name = tempfile.mkstemp(dir=self.root, prefix=TEMP_PREFIX)
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(head)
                while chunk := stream.read(CHUNK):
                    size += len(chunk)
                    if size > max_bytes:
                        raise TooLarge(max_bytes)
                    digest.update(chunk)
                    out.write(chunk)
        except BaseException:
            Path(tmp_name).unlink(missing_ok=True)
            raise
        key = digest.hexdigest()
        return PendingFile(self, Path(tmp_name), StoredFile(storage_key=key, sha256=key, size_bytes=size))

    def save(self, stream: BinaryIO, max_bytes: int) -> StoredFile:
        with self.receive(stream, max_bytes) as pending:
            return pending.keep()

    def path(self, storage_key: str) -> Path:
        if not _is_key(storage_key):
            raise ValueError("bad storage key")
        return self.root / storage_key[:2] / storage_key

    def delete(self, storage_key: str) -> bool:
        """Remove a stored file; False when it was not there."""
        try:
            self.path(storage_key).unlink()
        except FileNotFoundError:
            return False
        return True

    def entries(self) -> Iterator[Entry]:
        """Every file in the store's root and its two-character folders (nothing deeper)."""
        if not self.root.is_dir():
            return
        for path in sorted(self.root.iterdir()):
            if path.is_dir() and not path.is_symlink():
                for inner in sorted(path.iterdir()):
                    if inner.is_file() and not inner.is_symlink():
                        yield self._entry(inner, inner.name if self._stored_name(inner) else None, False)
            elif path.is_file() and not path.is_symlink():
                yield self._entry(path, None, path.name.startswith(TEMP_PREFIX))

    def _stored_name(self, path: Path) -> bool:
        return _is_key(path.name) and path.parent.name == path.name[:2] and path.parent.parent == self.root

    @staticmethod
    def _entry(path: Path, key: str | None, temporary: bool) -> Entry:
        stat = path.stat()
        return Entry(path, key, temporary, stat.st_size, stat.st_mtime)

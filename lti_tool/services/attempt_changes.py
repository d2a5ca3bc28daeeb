"""What changed since the previous attempt: for the assessor reviewing a resubmission.

Answers and reflections are compared word by word (difflib over words and the spaces between them), and
artifacts by what they are, not what they are called: a file by its content (sha256), a link by its
address; relabelling one is not a change. The result is plain values; the template escapes the text.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from difflib import SequenceMatcher
from typing import Any

from sqlalchemy import select

from ..db import Database
from ..db.models import Submission, SubmissionAttempt
from ..domain.definitions import Credential
from .attempts import AttemptSnapshot, snapshot
from .errors import NotFound
from .map_versions import course_map_for_version

EQUAL, INSERT, DELETE, SKIP = "equal", "insert", "delete", "skip"
# Unchanged stretches longer than this many words either side of a change are shortened to "…".
CONTEXT_WORDS = 12

_TOKENS = re.compile(r"\s+|\S+")


@dataclass(frozen=True)
class TextChange:
    kind: str  # answer | reflection
    key: str
    prompt: str
    segments: list[tuple[str, str]]  # (equal|insert|delete|skip, text)


@dataclass(frozen=True)
class AttemptChanges:
    attempt: int
    previous_attempt: int | None  # None: this is the first attempt
    kept: bool  # False: the previous attempt was not kept (evidence from before attempts were recorded)
    texts: list[TextChange]
    unchanged_texts: int
    added: list[dict[str, Any]]
    removed: list[dict[str, Any]]

    @property
    def first(self) -> bool:
        return self.previous_attempt is None

    @property
    def nothing_changed(self) -> bool:
        return not (self.texts or self.added or self.removed)


def word_diff(before: str, after: str) -> list[tuple[str, str]]:
    """``before`` -> ``after`` as (op, text) segments, word by word; whitespace travels with its words."""
    a, b = _TOKENS.findall(before), _TOKENS.findall(after)
    segments: list[tuple[str, str]] = []

    def add(op: str, tokens: list[str]) -> None:
        text = "".join(tokens)
        if not text:
            return
        if segments and segments[-1][0] == op:
            segments[-1] = (op, segments[-1][1] + text)
        else:
            segments.append((op, text))

    # autojunk off: in a long answer the spaces and common words would otherwise be ignored as "popular".
    for tag, i1, i2, j1, j2 in SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if tag == "equal":
            add(EQUAL, a[i1:i2])
        else:
            add(DELETE, a[i1:i2])
            add(INSERT, b[j1:j2])
    return segments


def shorten(segments: list[tuple[str, str]], context: int = CONTEXT_WORDS) -> list[tuple[str, str]]:
    """Long unchanged stretches keep ``context`` words next to each change; the rest becomes "…"."""
    out: list[tuple[str, str]] = []
    last = len(segments) - 1
    for n, (op, text) in enumerate(segments):
        tokens = _TOKENS.findall(text)
        words = sum(1 for t in tokens if not t.isspace())
        keep_head = n > 0  # words after the previous change
        keep_tail = n < last  # words before the next change
        if op != EQUAL or words <= context * (keep_head + keep_tail) + 1:
            out.append((op, text))
            continue
        head = _first_words(tokens, context) if keep_head else ""
        tail = _last_words(tokens, context) if keep_tail else ""
        if head:
            out.append((EQUAL, head))
        out.append((SKIP, "…"))
        if tail:
            out.append((EQUAL, tail))
    return out


def _first_words(tokens: list[str], n: int) -> str:
    taken: list[str] = []
    for token in tokens:
        if not token.isspace():
            if n == 0:
                break
            n -= 1
        taken.append(token)
    return "".join(taken)


def _last_words(tokens: list[str], n: int) -> str:
    taken: list[str] = []
    for token in reversed(tokens):
        if not token.isspace():
            if n == 0:
                break
            n -= 1
        taken.append(token)
    return "".join(reversed(taken))


def artifact_identity(entry: dict[str, Any]) -> str:
    """What an artifact is: its file's content, or its link's address (never its label)."""
    if entry.get("sha256"):
        return "file:" + str(entry["sha256"])
    return "link:" + str(entry.get("url") or "")


def artifact_changes(
    before: list[dict[str, Any]], after: list[dict[str, Any]]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(added, removed): counted, so the same file uploaded twice and then once is one removal."""
    left = Counter(artifact_identity(e) for e in before)
    added = []
    for entry in after:
        key = artifact_identity(entry)
        if left[key] > 0:
            left[key] -= 1
        else:
            added.append(entry)
    right = Counter(artifact_identity(e) for e in after)
    removed = []
    for entry in before:
        key = artifact_identity(entry)
        if right[key] > 0:
            right[key] -= 1
        else:
            removed.append(entry)
    return added, removed


def compare(
    credential: Credential, previous: AttemptSnapshot | None, current: AttemptSnapshot, *, kept: bool = True
) -> AttemptChanges:
    """What ``current`` changed against ``previous`` (None: nothing to compare with)."""
    if previous is None:
        return AttemptChanges(current.attempt, None if kept else current.attempt - 1, kept, [], 0, [], [])
    req = credential.requirements
    prompts = [("answer", q.id, q.prompt, previous.answers, current.answers) for q in req.overview_questions]
    prompts += [
        ("reflection", r.id, r.prompt, previous.reflections, current.reflections)
        for r in req.reflection_prompts
    ]
    texts, unchanged = [], 0
    for kind, key, prompt, before, after in prompts:
        old, new = before.get(key, ""), after.get(key, "")
        if old == new:
            unchanged += 1
            continue
        texts.append(TextChange(kind, key, prompt, shorten(word_diff(old, new))))
    added, removed = artifact_changes(previous.artifacts, current.artifacts)
    return AttemptChanges(current.attempt, previous.attempt, True, texts, unchanged, added, removed)


def changes_since_previous(db: Database, context_id: int, submission_id: int) -> AttemptChanges | None:
    """The submission's current attempt against the one before it; None when the current attempt was
    not kept as submitted (a draft, or evidence from before attempts were recorded)."""
    with db.read() as session:
        sub = session.get(Submission, submission_id)
        if sub is None or sub.context_id != context_id:
            raise NotFound("unknown_submission", "No such submission in this course.")
        rows = {
            row.attempt: snapshot(row)
            for row in session.scalars(
                select(SubmissionAttempt).where(
                    SubmissionAttempt.submission_id == sub.id,
                    SubmissionAttempt.attempt.in_([sub.attempt, sub.attempt - 1]),
                )
            )
        }
        current = rows.get(sub.attempt)
        if current is None:
            return None
        credential = course_map_for_version(session, current.map_version_id).credential(sub.credential_key)
    previous = rows.get(sub.attempt - 1)
    return compare(credential, previous, current, kept=previous is not None or sub.attempt == 1)

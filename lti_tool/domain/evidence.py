"""Is a learner's evidence complete and within its word limits? Pure checks against the requirements."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from .definitions import SubmissionRequirements


@dataclass(frozen=True)
class ArtifactRef:
    requirement_id: str
    label: str


def word_count(text: str) -> int:
    return len(text.split())


def over_word_limits(
    requirements: SubmissionRequirements, answers: Mapping[str, str], reflections: Mapping[str, str]
) -> list[str]:
    """One sentence per answer or reflection longer than its ``max_words`` (empty when none is)."""
    problems: list[str] = []
    for what, prompts, texts in (
        ("The answer to", requirements.overview_questions, answers),
        ("The reflection", requirements.reflection_prompts, reflections),
    ):
        for p in prompts:
            words = word_count(texts.get(p.id) or "")
            if p.max_words is not None and words > p.max_words:
                problems.append(
                    f"{what} '{p.prompt}' has {words} words; the limit is {p.max_words}. "
                    f"Shorten it by {words - p.max_words} word{'s' if words - p.max_words > 1 else ''}."
                )
    return problems


def missing_evidence(
    requirements: SubmissionRequirements,
    answers: Mapping[str, str],
    reflections: Mapping[str, str],
    artifacts: Sequence[ArtifactRef],
) -> list[str]:
    """Human-readable reasons the evidence cannot be submitted yet (empty when complete)."""
    problems: list[str] = []
    for q in requirements.overview_questions:
        text = (answers.get(q.id) or "").strip()
        if not text:
            problems.append(f"Answer the overview question: {q.prompt}")
        elif word_count(text) < q.min_words:
            problems.append(f"The answer to '{q.prompt}' needs at least {q.min_words} words.")
    for a in requirements.artifacts:
        count = sum(1 for ref in artifacts if ref.requirement_id == a.id)
        if count < a.min_count:
            problems.append(f"Add at least {a.min_count} artifact(s): {a.description}")
        elif count > a.max_count:
            problems.append(f"At most {a.max_count} artifact(s) for: {a.description}")
    for r in requirements.reflection_prompts:
        text = (reflections.get(r.id) or "").strip()
        if not text:
            problems.append(f"Write the reflection: {r.prompt}")
        elif word_count(text) < r.min_words:
            problems.append(f"The reflection '{r.prompt}' needs at least {r.min_words} words.")
    return problems + over_word_limits(requirements, answers, reflections)


def field_problems(
    requirements: SubmissionRequirements,
    answers: Mapping[str, str],
    reflections: Mapping[str, str],
    artifacts: Sequence[ArtifactRef],
    *,
    complete: bool,
) -> dict[str, str]:
    """The same checks, field by field, for a form that shows each message beside its field: keys are
    ``answer-<id>``, ``reflection-<id>`` and ``artifacts-<requirement id>``. Word limits always; with
    ``complete`` (a submission) also what is missing or too short."""
    found: dict[str, str] = {}
    for prefix, noun, prompts, texts in (
        ("answer", "Answer this question.", requirements.overview_questions, answers),
        ("reflection", "Write this reflection.", requirements.reflection_prompts, reflections),
    ):
        for p in prompts:
            text = (texts.get(p.id) or "").strip()
            words = word_count(text)
            if p.max_words is not None and words > p.max_words:
                over = words - p.max_words
                plural = "s" if over > 1 else ""
                found[f"{prefix}-{p.id}"] = (
                    f"{words} words; the limit is {p.max_words}: shorten it by {over} word{plural}."
                )
            elif complete and not text:
                found[f"{prefix}-{p.id}"] = noun
            elif complete and words < p.min_words:
                found[f"{prefix}-{p.id}"] = f"{words} words; at least {p.min_words} are needed."
    if complete:
        for a in requirements.artifacts:
            count = sum(1 for ref in artifacts if ref.requirement_id == a.id)
            if count < a.min_count:
                found[f"artifacts-{a.id}"] = f"Add at least {a.min_count} artifact(s) here; {count} added."
            elif count > a.max_count:
                found[f"artifacts-{a.id}"] = f"At most {a.max_count} artifact(s) here; {count} added."
    return found

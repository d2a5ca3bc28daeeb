"""The normalized JSON document of a map (what a CourseMapVersion stores) and the domain value built from it.

Normalizing fills every default and expands shorthands (rule ``all``, award ``stacks: all``, what an
artifact accepts), so two maps that mean the same thing have the same document and the same content hash,
and an old version can be rebuilt from its row alone, whatever the files look like today.

Format 2 added ``max_words`` to every prompt and ``accepts`` to every artifact, so loading a map under it
gives a new content hash (and so a new revision) even if its files did not change. A format 1 document
still reads as it was published: no word limits, and every artifact but a ``link`` takes a file or any link.
Format 3 added ``levels`` (what each rubric level looks like) to every criterion and ``review`` (the
panel that decides, a stack's review already applied) to every credential; older documents have neither.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from ..domain.definitions import (
    ArtifactInput,
    ArtifactKind,
    ArtifactRequirement,
    CompletionRule,
    CourseAward,
    CourseMap,
    Credential,
    OverviewQuestion,
    PanelRule,
    ReflectionPrompt,
    ReviewPolicy,
    Rubric,
    RubricCriterion,
    RubricLevel,
    Stack,
    SubmissionRequirements,
    TieBreak,
    Unit,
    default_accepts,
)

FORMAT = 3
READABLE_FORMATS = (1, 2, 3)


def normalize(course: dict[str, Any], credentials: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """A valid course.yaml and its credential files -> the stored document.

    Only credentials some stack uses are kept, in the order stacks first list them.
    """
    stacks = [_stack(s) for s in course["stacks"]]
    used: list[str] = []
    for stack in stacks:
        used += [c for c in stack["credentials"] if c not in used]
    award = course.get("award")
    # A stack's review applies to its credentials (the checks made sure stacks sharing one agree).
    stack_review = {
        c: s["review"] for s in reversed(course["stacks"]) if "review" in s for c in s["credentials"]
    }
    return {
        "format": FORMAT,
        "id": course["id"],
        "title": course["title"],
        "version": course["version"],
        "description": course.get("description", ""),
        "recognizer": course.get("recognizer", ""),
        "units": [{"id": u["id"], "title": u["title"], "stack": u["stack"]} for u in course["units"]],
        "stacks": stacks,
        "award": _award(award, [s["id"] for s in stacks]) if award else None,
        "credentials": [_credential(credentials[c], stack_review.get(c)) for c in used],
    }


def _stack(stack: dict[str, Any]) -> dict[str, Any]:
    listed = list(stack["credentials"])
    completion = stack["completion"]
    if completion["rule"] == "all":
        required, electives, choose = listed, [], 0
    else:
        required = list(completion["required"])
        electives = list(completion.get("electives", [c for c in listed if c not in required]))
        choose = completion["choose"]
    return {
        "id": stack["id"],
        "title": stack["title"],
        "statement": stack["statement"],
        "contact_hours": float(stack["contact_hours"]),
        "credentials": listed,
        "completion": {
            "rule": completion["rule"],
            "required": required,
            "electives": electives,
            "choose": choose,
        },
    }


def _award(award: dict[str, Any], stack_ids: list[str]) -> dict[str, Any]:
    stacks = stack_ids if award["stacks"] == "all" else list(award["stacks"])
    return {
        "id": award["id"],
        "title": award["title"],
        "stacks": stacks,
        "contact_hours": float(award.get("contact_hours", 0)),
    }


def _prompt(item: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": item["id"],
        "prompt": item["prompt"],
        "min_words": item.get("min_words", 0),
        "max_words": item.get("max_words"),
    }


def _accepts(artifact: dict[str, Any]) -> list[str]:
    given = artifact.get("accepts") or default_accepts(ArtifactKind(artifact["kind"]))
    return sorted(str(value) for value in given)


def normalize_review(review: dict[str, Any] | None) -> dict[str, Any]:
    """A review with every default filled and what cannot matter left out (the rule of a panel of 1, the
    ties of a panel that cannot tie), so two reviews that decide alike are equal and hash alike."""
    review = review or {"panel": 1}
    panel: int = review["panel"]
    rule: str = review.get("decide", PanelRule.MAJORITY.value) if panel > 1 else PanelRule.MAJORITY.value
    can_tie = rule == PanelRule.MAJORITY.value and panel % 2 == 0
    ties = review.get("ties", TieBreak.NOT_YET.value) if can_tie else TieBreak.NOT_YET.value
    return {"panel": panel, "decide": rule, "ties": ties}


def _credential(cred: dict[str, Any], stack_review: dict[str, Any] | None = None) -> dict[str, Any]:
    req = cred["requirements"]
    rubric = cred["rubric"]
    return {
        "id": cred["id"],
        "title": cred["title"],
        "competency": cred["competency"],
        "key_method": cred["key_method"],
        "method_components": list(cred["method_components"]),
        "requirements": {
            "overview_questions": [_prompt(q) for q in req.get("overview_questions", [])],
            "artifacts": [
                {
                    "id": a["id"],
                    "kind": a["kind"],
                    "description": a["description"],
                    "min_count": a.get("min_count", 1),
                    "max_count": a.get("max_count", a.get("min_count", 1)),
                    "accepts": _accepts(a),
                }
                for a in req["artifacts"]
            ],
            "reflection_prompts": [_prompt(p) for p in req.get("reflection_prompts", [])],
        },
        "rubric": {
            "levels": [{"id": lv["id"], "title": lv["title"], "rank": lv["rank"]} for lv in rubric["levels"]],
            "criteria": [
                {
                    "id": c["id"],
                    "title": c["title"],
                    "description": c["description"],
                    "passing_level": c["passing_level"],
                    # In the rubric's level order, so the order written in the file changes nothing.
                    "levels": {
                        lv["id"]: c["levels"][lv["id"]]
                        for lv in rubric["levels"]
                        if lv["id"] in c.get("levels", {})
                    },
                }
                for c in rubric["criteria"]
            ],
            "earned_rule": rubric.get("earned_rule", "all_criteria_met"),
        },
        "example_content": bool(cred.get("example_content", False)),
        "review": normalize_review(cred.get("review", stack_review)),
    }


def content_hash(document: dict[str, Any]) -> str:
    canonical = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def course_map_from_document(document: dict[str, Any]) -> CourseMap:
    """Rebuild the domain value from a stored (normalized) document."""
    if document.get("format") not in READABLE_FORMATS:
        raise ValueError(f"unsupported course map document format {document.get('format')!r}")
    award = document.get("award")
    return CourseMap(
        id=document["id"],
        title=document["title"],
        version=document["version"],
        description=document["description"],
        recognizer=document["recognizer"],
        units=tuple(Unit(u["id"], u["title"], u["stack"]) for u in document["units"]),
        stacks=tuple(_stack_value(s) for s in document["stacks"]),
        credentials=tuple(_credential_value(c) for c in document["credentials"]),
        award=(
            CourseAward(award["id"], award["title"], tuple(award["stacks"]), float(award["contact_hours"]))
            if award
            else None
        ),
    )


def _stack_value(stack: dict[str, Any]) -> Stack:
    completion = stack["completion"]
    return Stack(
        id=stack["id"],
        title=stack["title"],
        statement=stack["statement"],
        credential_ids=tuple(stack["credentials"]),
        rule=CompletionRule(
            required=frozenset(completion["required"]),
            electives=frozenset(completion["electives"]),
            choose=int(completion["choose"]),
        ),
        contact_hours=float(stack["contact_hours"]),
    )


def _credential_value(cred: dict[str, Any]) -> Credential:
    req = cred["requirements"]
    rubric = cred["rubric"]
    return Credential(
        id=cred["id"],
        title=cred["title"],
        competency=cred["competency"],
        key_method=cred["key_method"],
        method_components=tuple(cred["method_components"]),
        requirements=SubmissionRequirements(
            overview_questions=tuple(
                OverviewQuestion(q["id"], q["prompt"], q["min_words"], q.get("max_words"))
                for q in req["overview_questions"]
            ),
            artifacts=tuple(
                ArtifactRequirement(
                    a["id"],
                    ArtifactKind(a["kind"]),
                    a["description"],
                    a["min_count"],
                    a["max_count"],
                    _accepts_value(a),
                )
                for a in req["artifacts"]
            ),
            reflection_prompts=tuple(
                ReflectionPrompt(p["id"], p["prompt"], p["min_words"], p.get("max_words"))
                for p in req["reflection_prompts"]
            ),
        ),
        rubric=Rubric(
            levels=tuple(RubricLevel(lv["id"], lv["title"], lv["rank"]) for lv in rubric["levels"]),
            criteria=tuple(
                RubricCriterion(
                    c["id"],
                    c["title"],
                    c["description"],
                    c["passing_level"],
                    # Formats 1 and 2 had no level descriptions.
                    tuple(c.get("levels", {}).items()),
                )
                for c in rubric["criteria"]
            ),
            earned_rule=rubric["earned_rule"],
        ),
        example_content=cred["example_content"],
        review=_review_value(cred.get("review")),
    )


def _review_value(review: dict[str, Any] | None) -> ReviewPolicy:
    if review is None:  # formats 1 and 2: one assessor decided
        return ReviewPolicy()
    return ReviewPolicy(review["panel"], PanelRule(review["decide"]), TieBreak(review["ties"]))


def _accepts_value(artifact: dict[str, Any]) -> frozenset[ArtifactInput]:
    if "accepts" in artifact:
        return frozenset(ArtifactInput(value) for value in artifact["accepts"])
    # Format 1: published when every kind but ``link`` took a file or any link.
    if artifact["kind"] == ArtifactKind.LINK.value:
        return frozenset({ArtifactInput.LINK})
    return frozenset({ArtifactInput.FILE, ArtifactInput.LINK})

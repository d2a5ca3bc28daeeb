"""What a course map describes, as immutable values.

A course map (see ``course_maps/``) is turned into these values by
``lti_tool.maps``; services and rules only ever see these.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class ArtifactKind(StrEnum):
    STUDENT_WORK = "student_work"
    CLASSROOM_VIDEO = "classroom_video"
    LESSON_PLAN = "lesson_plan"
    DOCUMENT = "document"
    LINK = "link"
    OTHER = "other"


class ArtifactInput(StrEnum):
    """How a learner hands an artifact in: an uploaded file (of the types its kind allows), any web link,
    or a link to a video (a known video host or a video file)."""

    FILE = "file"
    LINK = "link"
    VIDEO_LINK = "video_link"


def default_accepts(kind: ArtifactKind) -> frozenset[ArtifactInput]:
    """What a requirement of ``kind`` accepts when its map does not say: a classroom video is a video file
    or a video link; a link is a link; anything else a file or a link."""
    if kind is ArtifactKind.LINK:
        return frozenset({ArtifactInput.LINK})
    if kind is ArtifactKind.CLASSROOM_VIDEO:
        return frozenset({ArtifactInput.FILE, ArtifactInput.VIDEO_LINK})
    return frozenset({ArtifactInput.FILE, ArtifactInput.LINK})


@dataclass(frozen=True)
class OverviewQuestion:
    id: str
    prompt: str
    min_words: int = 0
    max_words: int | None = None  # None: no upper limit


@dataclass(frozen=True)
class ArtifactRequirement:
    id: str
    kind: ArtifactKind
    description: str
    min_count: int = 1
    max_count: int = 1
    # Empty: what the kind accepts by default (``default_accepts``); filled in on construction.
    accepts: frozenset[ArtifactInput] = field(default=frozenset())

    def __post_init__(self) -> None:
        if not self.accepts:
            object.__setattr__(self, "accepts", default_accepts(self.kind))


@dataclass(frozen=True)
class ReflectionPrompt:
    id: str
    prompt: str
    min_words: int = 0
    max_words: int | None = None  # None: no upper limit


@dataclass(frozen=True)
class SubmissionRequirements:
    overview_questions: tuple[OverviewQuestion, ...]
    artifacts: tuple[ArtifactRequirement, ...]
    reflection_prompts: tuple[ReflectionPrompt, ...]


@dataclass(frozen=True)
class RubricLevel:
    id: str
    title: str
    rank: int  # higher is better


@dataclass(frozen=True)
class RubricCriterion:
    id: str
    title: str
    description: str
    passing_level: str  # id of the lowest level that counts as met
    # (level id, what that level looks like for this criterion), in the rubric's level order; may be empty.
    level_descriptions: tuple[tuple[str, str], ...] = ()

    def describe(self, level_id: str) -> str:
        """What ``level_id`` looks like for this criterion; "" when the map does not say."""
        return dict(self.level_descriptions).get(level_id, "")


@dataclass(frozen=True)
class Rubric:
    levels: tuple[RubricLevel, ...]
    criteria: tuple[RubricCriterion, ...]
    earned_rule: str = (
        "all_criteria_met"  # the only rule today: every criterion at or above its passing level
    )

    def level(self, level_id: str) -> RubricLevel:
        for level in self.levels:
            if level.id == level_id:
                return level
        raise KeyError(level_id)


class PanelRule(StrEnum):
    """How a panel's reviews become one decision."""

    MAJORITY = "majority"  # more than half agree; an even split goes the policy's ``ties`` way
    UNANIMOUS = "unanimous"  # earned only if every reviewer says earned


class TieBreak(StrEnum):
    NOT_YET = "not_yet"
    EARNED = "earned"


MAX_PANEL = 9  # more reviewers than this is a committee, not a review; the map refuses it


@dataclass(frozen=True)
class ReviewPolicy:
    """Who decides a credential: ``panel`` different assessors review each attempt independently, and
    ``rule`` turns their reviews into earned or not yet once all ``panel`` reviews are in. Panel 1: one
    assessor decides alone (the rule does not matter)."""

    panel: int = 1
    rule: PanelRule = PanelRule.MAJORITY
    ties: TieBreak = TieBreak.NOT_YET  # only for a majority of an even panel

    def __post_init__(self) -> None:
        if not 1 <= self.panel <= MAX_PANEL:
            raise ValueError(f"a review panel has 1 to {MAX_PANEL} reviewers, not {self.panel}")

    @property
    def single(self) -> bool:
        return self.panel == 1


@dataclass(frozen=True)
class Credential:
    id: str
    title: str
    competency: str
    key_method: str
    method_components: tuple[str, ...]
    requirements: SubmissionRequirements
    rubric: Rubric
    example_content: bool = False
    review: ReviewPolicy = ReviewPolicy()


@dataclass(frozen=True)
class CompletionRule:
    """Which earned credentials complete a stack.

    ``required`` must all be earned; then at least ``choose`` of ``electives``.
    The CEU rule "every credential in the stack" is ``required`` = all, ``choose`` = 0.
    """

    required: frozenset[str]
    electives: frozenset[str] = frozenset()
    choose: int = 0

    @property
    def credential_ids(self) -> frozenset[str]:
        return self.required | self.electives


@dataclass(frozen=True)
class Stack:
    id: str
    title: str
    statement: str
    credential_ids: tuple[str, ...]
    rule: CompletionRule
    contact_hours: float


@dataclass(frozen=True)
class Unit:
    id: str
    title: str
    stack_id: str


@dataclass(frozen=True)
class CourseAward:
    id: str
    title: str
    stack_ids: tuple[str, ...]
    contact_hours: float = 0.0


@dataclass(frozen=True)
class CourseMap:
    id: str
    title: str
    version: str
    units: tuple[Unit, ...]
    stacks: tuple[Stack, ...]
    credentials: tuple[Credential, ...]
    award: CourseAward | None = None
    recognizer: str = ""
    description: str = ""

    def stack(self, stack_id: str) -> Stack:
        for stack in self.stacks:
            if stack.id == stack_id:
                return stack
        raise KeyError(stack_id)

    def credential(self, credential_id: str) -> Credential:
        for credential in self.credentials:
            if credential.id == credential_id:
                return credential
        raise KeyError(credential_id)

    def stacks_containing(self, credential_id: str) -> tuple[Stack, ...]:
        return tuple(s for s in self.stacks if credential_id in s.rule.credential_ids)

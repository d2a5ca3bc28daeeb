"""Scenario builders for page tests: a platform, a course bound to a shipped course map, people in roles.

Rows that only an LTI launch would create (platform, deployment, context, users, memberships) are
written directly; everything a person does afterwards goes through the services, as the pages do.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flask.testing import FlaskClient

from lti_tool.db import Database
from lti_tool.db.models import Context, Deployment, Membership, Platform, User
from lti_tool.domain.definitions import (
    ArtifactInput,
    CourseMap,
    Credential,
    OverviewQuestion,
    ReflectionPrompt,
)
from lti_tool.services import artifacts, assessment, evidence
from lti_tool.services.course_maps import get_course_map, load_course_maps
from lti_tool.web.auth import ASSESSOR, DESIGNER, LEARNER, Actor

REPO_ROOT = Path(__file__).resolve().parent.parent
LEARNING_DIFFERENCES = REPO_ROOT / "course_maps" / "learning-differences"
LD_KEY = "learning-differences"

_serial = itertools.count(1)


def load_shipped_map(db: Database, path: Path = LEARNING_DIFFERENCES) -> CourseMap:
    (result,) = load_course_maps(db, [path])
    return get_course_map(db, result.course_key)


@dataclass
class CourseFixture:
    db: Database
    platform_id: int
    deployment_id: int
    context_id: int
    course_key: str | None
    people: dict[str, Actor] = field(default_factory=dict)

    def person(self, name: str, *roles: str, email: str = "") -> Actor:
        """A user of this course with a membership carrying the tool's ``roles``."""
        with self.db.transaction() as session:
            user = User(
                platform_id=self.platform_id, sub=f"sub-{next(_serial)}", name=name, email=email or ""
            )
            session.add(user)
            session.flush()
            session.add(
                Membership(context_id=self.context_id, user_id=user.id, roles=sorted(roles), source="roster")
            )
            user_id = user.id
        actor = Actor(
            user_id=user_id,
            platform_id=self.platform_id,
            deployment_id=self.deployment_id,
            context_id=self.context_id,
            name=name,
            roles=frozenset(roles),
            course_key=self.course_key,
        )
        self.people[name] = actor
        return actor

    def learner(self, name: str = "Lena Learner") -> Actor:
        return self.person(name, LEARNER)

    def assessor(self, name: str = "Asha Assessor") -> Actor:
        return self.person(name, ASSESSOR)

    def designer(self, name: str = "Dara Designer") -> Actor:
        return self.person(name, DESIGNER, ASSESSOR)


def course(
    db: Database, *, course_key: str | None = LD_KEY, title: str = "Learning Differences (Spring)"
) -> CourseFixture:
    """A platform, a deployment and a course (context), bound to ``course_key`` when it is given."""
    n = next(_serial)
    with db.transaction() as session:
        platform = Platform(
            issuer=f"https://lms{n}.example.edu",
            client_id=f"client-{n}",
            name=f"LMS {n}",
            auth_login_url=f"https://lms{n}.example.edu/auth",
            auth_token_url=f"https://lms{n}.example.edu/token",
            auth_token_audience=None,
            jwks_url=f"https://lms{n}.example.edu/jwks",
        )
        session.add(platform)
        session.flush()
        deployment = Deployment(platform_id=platform.id, deployment_id=f"dep-{n}")
        session.add(deployment)
        session.flush()
        context = Context(
            deployment_id=deployment.id, context_id=f"ctx-{n}", title=title, label="LD", course_key=course_key
        )
        session.add(context)
        session.flush()
        ids = platform.id, deployment.id, context.id
    return CourseFixture(db, *ids, course_key=course_key)


def sign_in(client: FlaskClient, actor: Actor) -> None:
    with client.session_transaction() as s:
        s["actor"] = actor.to_dict()


def words(n: int, word: str = "evidence") -> str:
    return " ".join([word] * n)


def complete_texts(credential: Credential) -> tuple[dict[str, str], dict[str, str]]:
    """Answers and reflections long enough for every prompt of ``credential``."""
    req = credential.requirements

    def enough(p: OverviewQuestion | ReflectionPrompt) -> int:
        return min(max(p.min_words, 1) + 5, p.max_words or 1_000_000)

    answers = {q.id: words(enough(q), "observation") for q in req.overview_questions}
    reflections = {r.id: words(enough(r), "reflection") for r in req.reflection_prompts}
    return answers, reflections


def complete_evidence(db: Database, learner: Actor, credential: Credential) -> None:
    """Everything ``credential`` requires, as a draft: texts and the minimum number of link artifacts."""
    answers, reflections = complete_texts(credential)
    evidence.save_draft(db, learner.context_id, learner.user_id, credential.id, answers, reflections)
    for req in credential.requirements.artifacts:
        for i in range(req.min_count):
            artifacts.add_link_artifact(
                db,
                learner.context_id,
                learner.user_id,
                credential.id,
                req.id,
                # a video file's address where only video links are taken (a classroom video)
                f"https://evidence.example/{credential.id}/{req.id}/{i}"
                + ("" if ArtifactInput.LINK in req.accepts else ".mp4"),
                f"{req.description[:40]} {i + 1}",
            )


def passing_scores(credential: Credential) -> dict[str, str]:
    return {c.id: c.passing_level for c in credential.rubric.criteria}


def failing_scores(credential: Credential) -> dict[str, str]:
    lowest = min(credential.rubric.levels, key=lambda level: level.rank)
    scores = passing_scores(credential)
    scores[credential.rubric.criteria[0].id] = lowest.id
    return scores


def earn(db: Database, learner: Actor, assessor_actor: Actor, credential: Credential) -> Any:
    """Learner completes and submits; assessor decides earned. Returns the DecisionResult."""
    complete_evidence(db, learner, credential)
    view = evidence.submit(db, learner.context_id, learner.user_id, credential.id)
    assert view.id is not None
    return assessment.decide(
        db, learner.context_id, view.id, assessor_actor.user_id, passing_scores(credential), ""
    )

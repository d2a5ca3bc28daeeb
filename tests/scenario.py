"""Scenario builders for service tests: a platform, a course bound to a shipped map, people in it."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from pathlib import Path

from lti_tool.config import REPO_ROOT
from lti_tool.db import Database
from lti_tool.db.models import Context, Deployment, Membership, Platform, User
from lti_tool.domain.definitions import ArtifactInput
from lti_tool.services import artifacts, assessment, evidence
from lti_tool.services.course_maps import load_course_maps
from lti_tool.services.map_versions import course_map_for_version
from lti_tool.services.scope import context_course

LEARNER = "learner"
ASSESSOR = "assessor"
LEARNING_DIFFERENCES = REPO_ROOT / "course_maps" / "learning-differences"
_ids = itertools.count(1)


@dataclass
class Course:
    db: Database
    context_id: int
    platform_id: int
    course_key: str

    def person(self, name: str, role: str = LEARNER) -> int:
        with self.db.transaction() as session:
            user = User(
                platform_id=self.platform_id, sub=f"u{next(_ids)}", name=name, email=f"{name}@example.com"
            )
            session.add(user)
            session.flush()
            session.add(Membership(context_id=self.context_id, user_id=user.id, roles=[role]))
            return user.id

    def map(self):  # type: ignore[no-untyped-def]
        with self.db.read() as session:
            return context_course(session, self.context_id)[1]


def course(db: Database, map_dir: Path = LEARNING_DIFFERENCES, context_id: str = "course-1") -> Course:
    result = load_course_maps(db, [map_dir])[0]
    with db.transaction() as session:
        platform = session.query(Platform).filter_by(issuer="https://lms.example").one_or_none()
        if platform is None:
            platform = Platform(
                issuer="https://lms.example",
                client_id="tool",
                name="LMS",
                auth_login_url="https://lms.example/auth",
                auth_token_url="https://lms.example/token",
                jwks_url="https://lms.example/jwks",
            )
            session.add(platform)
            session.flush()
            session.add(Deployment(platform_id=platform.id, deployment_id="1"))
            session.flush()
        deployment = session.query(Deployment).filter_by(platform_id=platform.id).one()
        context = Context(
            deployment_id=deployment.id, context_id=context_id, title="MOOC-Ed", course_key=result.course_key
        )
        session.add(context)
        session.flush()
        return Course(db, context.id, platform.id, result.course_key)


def complete_evidence(c: Course, learner: int, credential_key: str) -> None:
    """Fill every requirement of a credential and submit it."""
    credential = c.map().credential(credential_key)
    req = credential.requirements
    words = " ".join(["evidence"] * 300)
    evidence.save_draft(
        c.db,
        c.context_id,
        learner,
        credential_key,
        {q.id: words for q in req.overview_questions},
        {r.id: words for r in req.reflection_prompts},
    )
    for artifact in req.artifacts:
        for n in range(artifact.min_count):
            artifacts.add_link_artifact(
                c.db,
                c.context_id,
                learner,
                credential_key,
                artifact.id,
                f"https://video.example/{n}" + ("" if ArtifactInput.LINK in artifact.accepts else ".mp4"),
                f"item {n}",
            )
    evidence.submit(c.db, c.context_id, learner, credential_key)


def passing_scores(c: Course, credential_key: str) -> dict[str, str]:
    rubric = c.map().credential(credential_key).rubric
    return {criterion.id: criterion.passing_level for criterion in rubric.criteria}


def failing_scores(c: Course, credential_key: str) -> dict[str, str]:
    rubric = c.map().credential(credential_key).rubric
    lowest = min(rubric.levels, key=lambda level: level.rank).id
    return {criterion.id: lowest for criterion in rubric.criteria}


def submission_id(c: Course, learner: int, credential_key: str) -> int:
    view = evidence.open_submission(c.db, c.context_id, learner, credential_key)
    assert view.id is not None
    return view.id


def earn(
    c: Course, learner: int, assessor: int, credential_key: str, feedback: str = ""
) -> assessment.DecisionResult:
    complete_evidence(c, learner, credential_key)
    return assessment.decide(
        c.db,
        c.context_id,
        submission_id(c, learner, credential_key),
        assessor,
        passing_scores(c, credential_key),
        feedback,
    )


__all__ = ["course", "course_map_for_version"]

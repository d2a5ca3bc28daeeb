"""A learner's evidence writes are serialised per learner on a real PostgreSQL, as SQLite's write lock does.

Many threads, one barrier: concurrent submits of one draft end in one submission (one audit record, one
gradebook message) and clear refusals; concurrent first actions on a credential create one submission
row and never fail with a duplicate key. See docs/decisions/0002-outbox-and-per-learner-lock.md.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from lti_tool import create_app
from lti_tool.db import Database
from lti_tool.db.models import Artifact, AuditEvent, OutboxMessage, Submission
from lti_tool.domain.definitions import CourseMap
from lti_tool.services import artifacts, evidence
from lti_tool.services.errors import Conflict, ServiceError
from lti_tool.web.auth import Actor
from tests import factories
from tests.conftest import app_config
from tests.races import race

pytestmark = pytest.mark.postgres

THREADS = 10
CRED = "ef-foundations-of-practice"
FRESH = "ef-supporting-students"  # no submission row until the race's first action


def _count(db: Database, model: Any, *where: Any) -> int:
    with db.read() as session:
        return int(session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


@pytest.fixture
def pg_db(postgres_url: str) -> Iterator[Database]:
    database = Database(postgres_url, pool_size=THREADS + 2)
    yield database
    database.dispose()


def _learner(db: Database) -> tuple[CourseMap, Actor]:
    course_map = factories.load_shipped_map(db)
    return course_map, factories.course(db).learner("Lee Learner")


def test_concurrent_submits_of_one_draft_submit_once(pg_db: Database) -> None:
    course_map, learner = _learner(pg_db)
    factories.complete_evidence(pg_db, learner, course_map.credential(CRED))
    outbox_before = _count(pg_db, OutboxMessage)

    results, errors = race(
        THREADS, lambda _: evidence.submit(pg_db, learner.context_id, learner.user_id, CRED)
    )

    assert len(results) == 1, errors
    assert len(errors) == THREADS - 1 and all(type(e) is Conflict for e in errors), errors
    assert {e.code for e in errors if isinstance(e, Conflict)} == {"awaiting_review"}
    sid = results[0].id
    submitted = (AuditEvent.action == "submission.submitted", AuditEvent.subject_id == str(sid))
    assert _count(pg_db, AuditEvent, *submitted) == 1
    assert _count(pg_db, AuditEvent, AuditEvent.action == "submission.submitted") == 1
    assert _count(pg_db, OutboxMessage, OutboxMessage.topic == "gradebook.credential") - outbox_before == 1
    with pg_db.read() as session:
        sub = session.get(Submission, sid)
        assert sub is not None and sub.state == "submitted" and sub.attempt == 1


def test_concurrent_first_actions_on_a_credential_create_one_submission(pg_db: Database) -> None:
    course_map, learner = _learner(pg_db)
    requirements = course_map.credential(FRESH).requirements
    questions = [q.id for q in requirements.overview_questions]
    links = next(a for a in requirements.artifacts if 1 < a.max_count < THREADS // 2)

    def first_action(i: int) -> object:
        if i % 2:
            return artifacts.add_link_artifact(
                pg_db,
                learner.context_id,
                learner.user_id,
                FRESH,
                links.id,
                f"https://evidence.example/{i}.mp4",  # a video file: a classroom video takes only those links
                f"link {i}",
            )
        answers = {questions[i // 2 % len(questions)]: f"answer {i}"}
        return evidence.save_draft(pg_db, learner.context_id, learner.user_id, FRESH, answers, {})

    results, errors = race(THREADS, first_action)

    # The only refusal: links beyond the requirement's maximum, counted after the lock.
    unexpected = [e for e in errors if not (isinstance(e, ServiceError) and e.code == "too_many_artifacts")]
    assert not unexpected, unexpected
    assert len(results) + len(errors) == THREADS
    assert len(errors) == THREADS // 2 - links.max_count
    where = (Submission.user_id == learner.user_id, Submission.credential_key == FRESH)
    assert _count(pg_db, Submission, *where) == 1
    assert _count(pg_db, AuditEvent, AuditEvent.action == "submission.started") == 1
    assert _count(pg_db, Artifact, Artifact.requirement_id == links.id) == links.max_count


# --- through HTTP: the app on PostgreSQL, one test client per thread --------------------------------------


@pytest.fixture
def pg_app(postgres_url: str, tmp_path: Path) -> Iterator[Flask]:
    application = create_app(app_config(postgres_url, tmp_path))
    yield application
    application.extensions["db"].dispose()


def _post_concurrently(
    app: Flask, learner: Actor, path: str, form: Callable[[int], dict[str, str]]
) -> list[int]:
    def post(i: int) -> int:
        client = app.test_client()
        factories.sign_in(client, learner)
        return client.post(path, data=form(i)).status_code

    statuses, errors = race(THREADS, post)
    assert not errors, errors
    return statuses


def test_concurrent_http_submits_answer_one_redirect_and_409s(pg_app: Flask) -> None:
    db: Database = pg_app.extensions["db"]
    course_map, learner = _learner(db)
    credential = course_map.credential(CRED)
    factories.complete_evidence(db, learner, credential)
    answers, reflections = factories.complete_texts(credential)
    texts = {f"answer-{k}": v for k, v in answers.items()} | {
        f"reflection-{k}": v for k, v in reflections.items()
    }

    statuses = _post_concurrently(
        pg_app, learner, f"/learn/credentials/{CRED}", lambda _: texts | {"action": "submit"}
    )

    assert sorted(statuses) == [303] + [409] * (THREADS - 1)
    assert _count(db, AuditEvent, AuditEvent.action == "submission.submitted") == 1
    assert _count(db, OutboxMessage, OutboxMessage.topic == "gradebook.credential") == 1


def test_concurrent_http_first_saves_never_answer_500(pg_app: Flask) -> None:
    db: Database = pg_app.extensions["db"]
    course_map, learner = _learner(db)
    question = course_map.credential(FRESH).requirements.overview_questions[0].id

    statuses = _post_concurrently(
        pg_app, learner, f"/learn/credentials/{FRESH}", lambda i: {f"answer-{question}": f"draft {i}"}
    )

    assert statuses == [303] * THREADS
    assert _count(db, Submission, Submission.credential_key == FRESH) == 1

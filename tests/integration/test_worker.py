"""A real Celery worker against a real broker (Redis): a task round trip and an outbox drain.

Needs TEST_REDIS_URL (CI sets it and REQUIRE_BROKER=1, so a missing broker fails instead of skipping).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from lti_tool import create_app
from tests.conftest import app_config

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def _broker_reachable() -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping())
    except redis.exceptions.RedisError:
        return False


@pytest.fixture
def worker(sqlite_url: str, tmp_path: Path):  # type: ignore[no-untyped-def]
    if not _broker_reachable():
        if os.environ.get("REQUIRE_BROKER") == "1":
            pytest.fail(f"a Celery broker is required (REQUIRE_BROKER=1) but {REDIS_URL} is not reachable")
        pytest.skip("no Redis broker (set TEST_REDIS_URL)")
    import redis

    redis.Redis.from_url(REDIS_URL).flushdb()
    env = dict(os.environ)
    env.update(
        DATABASE_URL=sqlite_url,
        CELERY_BROKER_URL=REDIS_URL,
        SECRET_KEY="worker-test",
        DEVELOPMENT="1",  # its gradebook is a test platform on http://127.0.0.1
        FLASK_APP="lti_tool:create_app",
    )
    log = (tmp_path / "worker.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "lti_tool.cli", "worker", "--concurrency", "2", "--no-beat"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    app = create_app(app_config(sqlite_url, tmp_path, CELERY_BROKER_URL=REDIS_URL))
    yield app
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
    app.extensions["db"].dispose()


def test_task_round_trip_through_redis_and_a_worker(worker) -> None:  # type: ignore[no-untyped-def]
    from lti_tool.tasks.outbox import drain_outbox, ping

    with worker.app_context():
        assert not worker.extensions["settings"].tasks_in_process
        result = ping.delay("hello")
        assert result.get(timeout=60) == "pong:hello:lti_tool"
        drained = drain_outbox.delay().get(timeout=60)
        assert set(drained) == {"delivered", "retried"}
        assert result.backend.__class__.__name__ == "RedisBackend"


def test_worker_command_refuses_to_run_without_a_broker(tmp_path: Path, sqlite_url: str) -> None:
    env = dict(os.environ, DATABASE_URL=sqlite_url, CELERY_BROKER_URL="", SECRET_KEY="x")
    proc = subprocess.run(
        [sys.executable, "-m", "lti_tool.cli", "worker"], env=env, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode != 0 and "CELERY_BROKER_URL is not set" in proc.stderr


def test_the_worker_drains_the_outbox_to_a_gradebook(worker) -> None:  # type: ignore[no-untyped-def]
    """A score written to the outbox reaches a Moodle-shaped platform over HTTP, sent by the worker."""
    from sqlalchemy import select

    from lti_tool.db.models import OutboxMessage
    from lti_tool.lti import ags
    from lti_tool.lti.keys import public_jwks
    from lti_tool.tasks.outbox import drain_outbox
    from tests.integration.test_ags_fake_moodle import FakeMoodle, credential_message, seed_course, send

    db = worker.extensions["db"]
    moodle = FakeMoodle(tool_jwks=lambda: public_jwks(db)).start()
    try:
        course = seed_course(db, moodle)
        send(db, ags.TOPIC_CREDENTIAL, credential_message(course, "earned", "Clear evidence."))
        with worker.app_context():
            assert drain_outbox.delay().get(timeout=60) == {"delivered": 1, "retried": 0}
        assert [s["gradingProgress"] for s in moodle.scores] == ["FullyGraded"]
        assert moodle.scores[0]["comment"] == "Clear evidence."
        with db.read() as session:
            assert session.scalars(select(OutboxMessage.delivered_at)).one() is not None
    finally:
        moodle.stop()

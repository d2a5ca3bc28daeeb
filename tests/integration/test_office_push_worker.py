"""A real Celery worker process (Redis broker, PostgreSQL) pushing 50 records to a local office receiver is
SIGKILLed while the receiver holds one request; after a restart every record has arrived, none is lost,
and the only key received twice is the one in flight at the kill (answered as a duplicate, counted once).

Needs TEST_REDIS_URL (CI sets it and REQUIRE_BROKER=1, so a missing broker fails instead of skipping).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO

import pytest
from flask import Flask

from lti_tool import create_app
from lti_tool.services import records_settings
from tests.conftest import app_config
from tests.integration.test_worker import REDIS_URL, _broker_reachable
from tests.office_push_support import SECRET_ENV, deliveries, educator, issue_records, write_offices
from tests.records_receiver import HOLD, OK, Receiver, running_receiver

pytestmark = [pytest.mark.worker, pytest.mark.postgres]

SECRET = "worker-test-office-secret"
LEASE_SECONDS = 6
RECORDS = 50


class Worker:
    """``lti-tool worker`` in its own process group, started and killed like an operator's would be."""

    def __init__(self, env: dict[str, str], log: IO[str]) -> None:
        self.env, self.log = env, log
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "lti_tool.cli", "worker", "--concurrency", "2", "--no-beat"],
            env=self.env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def kill(self, sig: int = signal.SIGKILL) -> None:
        assert self.proc is not None
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, sig)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(20)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with running_receiver(SECRET) as r:
        yield r


@pytest.fixture
def setup(
    postgres_url: str, tmp_path: Path, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Flask, Worker]]:
    if not _broker_reachable():
        if os.environ.get("REQUIRE_BROKER") == "1":
            pytest.fail(f"a Celery broker is required (REQUIRE_BROKER=1) but {REDIS_URL} is not reachable")
        pytest.skip("no Redis broker (set TEST_REDIS_URL)")
    import redis

    redis.Redis.from_url(REDIS_URL).flushdb()
    monkeypatch.setenv(SECRET_ENV, SECRET)
    offices = write_offices(tmp_path / "offices", receiver.url)
    env = dict(os.environ)
    env.update(
        DATABASE_URL=postgres_url,
        CELERY_BROKER_URL=REDIS_URL,
        SECRET_KEY="worker-test",
        DEVELOPMENT="1",  # the office receiver is http://127.0.0.1
        OFFICES_DIR=str(offices),
        OUTBOX_LEASE_SECONDS=str(LEASE_SECONDS),
        FLASK_APP="lti_tool:create_app",
    )
    before = records_settings.current()
    app = create_app(
        app_config(postgres_url, tmp_path, CELERY_BROKER_URL=REDIS_URL, OFFICES_DIR=str(offices))
    )
    worker = Worker(env, (tmp_path / "worker.log").open("w"))
    yield app, worker
    worker.kill(signal.SIGTERM)
    records_settings.configure(before)
    app.extensions["db"].dispose()


def _drain_until(app: Flask, done: Callable[[], bool], seconds: float) -> bool:
    from lti_tool.tasks.outbox import drain_outbox

    deadline = time.monotonic() + seconds
    with app.app_context():
        while time.monotonic() < deadline:
            drain_outbox.delay()
            if done():
                return True
            time.sleep(1.0)
    return bool(done())


def test_killed_mid_delivery_and_restarted_no_record_is_lost(
    setup: tuple[Flask, Worker], receiver: Receiver, tmp_path: Path
) -> None:
    app, worker = setup
    db = app.extensions["db"]
    issue_records(db, educator(db), RECORDS)
    keys = {d.idempotency_key for d in deliveries(db)}
    assert len(keys) == RECORDS
    # The eleventh request is accepted by the office and then held: the worker waits for the answer.
    receiver.script(*[OK] * 10, HOLD)

    worker.start()
    from lti_tool.tasks.outbox import drain_outbox

    with app.app_context():
        drain_outbox.delay()
    assert receiver.holding.wait(90), (tmp_path / "worker.log").read_text()[-3000:]
    worker.kill()  # SIGKILL with the POST in flight: no chance to record anything
    receiver.release.set()
    in_flight = [k for k, n in receiver.accepted.items() if n == 1 and k in keys]
    before_restart = {d.idempotency_key: d.push_state for d in deliveries(db)}
    assert list(before_restart.values()).count("delivered") == 10
    assert len(in_flight) == 11  # ten answered, one held

    worker.start()
    settled = _drain_until(app, lambda: all(d.push_state == "delivered" for d in deliveries(db)), 120)
    assert settled, (tmp_path / "worker.log").read_text()[-3000:]

    assert set(receiver.records) == keys  # none lost
    twice = {k for k, n in receiver.accepted.items() if n > 1}
    held = {k for k, state in before_restart.items() if state != "delivered" and k in in_flight}
    assert twice == held and len(held) == 1  # only the request in flight at the kill came again
    assert receiver.duplicates == 1 and receiver.bad_signatures == 0
    # The office answered the repeat as a duplicate; that answer is the receipt kept.
    (again,) = [d for d in deliveries(db) if d.idempotency_key in held]
    assert again.receipt is not None and '"duplicate": true' in again.receipt["body"]

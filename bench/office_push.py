"""Benchmark: push 10,000 CEU records to a local office receiver with two real Celery worker processes.

Seeds --records record events for a pushed office in a scratch PostgreSQL database (bulk-written: the seed
is not what is measured), starts two ``lti-tool worker`` processes (Redis broker, --concurrency threads
each) and keeps drain tasks queued until every record is delivered. The receiver (tests/records_receiver.py,
a threaded HTTP server on 127.0.0.1 in this process) verifies each HMAC signature and counts
Idempotency-Keys. Prints records per second (from the first drain task to the last delivery, workers
already up), duplicates (must be 0) and failures.

    .venv/bin/python bench/office_push.py [--records 10000] [--workers 2] [--concurrency 2]

Needs PostgreSQL (BENCH_POSTGRES_URL, default postgresql://postgres@127.0.0.1:5432/postgres; it creates
and drops its own database) and Redis (BENCH_REDIS_URL, default redis://127.0.0.1:6379/14, flushed).
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from sqlalchemy import create_engine, func, select, text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from lti_tool import create_app  # noqa: E402
from lti_tool.db.migrate import upgrade  # noqa: E402
from lti_tool.db.models import OutboxMessage  # noqa: E402
from lti_tool.db.records_models import OfficeDelivery  # noqa: E402
from tests.office_push_support import SECRET_ENV, bulk_issue, educator, write_offices  # noqa: E402
from tests.records_receiver import running_receiver  # noqa: E402

ADMIN_URL = os.environ.get("BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
SECRET = "bench-office-secret"


def psycopg(url: str) -> str:
    return url.replace("postgresql://", "postgresql+psycopg://", 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--records", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=2, help="worker processes")
    parser.add_argument("--concurrency", type=int, default=2, help="threads per worker (as lti-tool worker)")
    parser.add_argument("--timeout", type=float, default=900, help="give up after this many seconds")
    args = parser.parse_args()

    import redis

    broker = redis.Redis.from_url(REDIS_URL)
    broker.flushdb()
    name = f"bench_push_{uuid.uuid4().hex[:8]}"
    admin = create_engine(psycopg(ADMIN_URL), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    workers: list[subprocess.Popen[bytes]] = []
    work = Path(tempfile.mkdtemp(prefix="bench-push-"))
    try:
        upgrade(url)
        with running_receiver(SECRET) as receiver:
            os.environ[SECRET_ENV] = SECRET
            offices = write_offices(work / "offices", receiver.url, max_attempts=8)
            app = create_app(
                {
                    "INSTANCE_PATH": str(work / "instance"),
                    "DATABASE_URL": url,
                    "SECRET_KEY": "bench",
                    "CELERY_BROKER_URL": REDIS_URL,
                    "DEVELOPMENT": "1",  # the receiver is http://127.0.0.1
                    "OFFICES_DIR": str(offices),
                }
            )
            db = app.extensions["db"]
            started = time.perf_counter()
            bulk_issue(db, educator(db), args.records)
            print(f"seeded {args.records} record events in {time.perf_counter() - started:.1f} s")

            env = dict(
                os.environ,
                DATABASE_URL=url,
                CELERY_BROKER_URL=REDIS_URL,
                SECRET_KEY="bench",
                DEVELOPMENT="1",
                OFFICES_DIR=str(offices),
            )
            log = (work / "workers.log").open("w")
            for _ in range(args.workers):
                workers.append(
                    subprocess.Popen(
                        [sys.executable, "-m", "lti_tool.cli", "worker", "--no-beat"]
                        + ["--concurrency", str(args.concurrency)],
                        env=env,
                        stdout=log,
                        stderr=subprocess.STDOUT,
                        start_new_session=True,
                    )
                )
            from lti_tool.tasks.outbox import drain_outbox, ping

            with app.app_context():
                celery = app.extensions["celery"]
                deadline = time.monotonic() + 120
                while len(celery.control.ping(timeout=1.0)) < args.workers:
                    if time.monotonic() > deadline:
                        raise SystemExit(f"workers did not start; see {work / 'workers.log'}")
                ping.delay("warm").get(timeout=60)

                def delivered() -> int:
                    with db.read() as session:
                        return int(
                            session.scalar(
                                select(func.count())
                                .select_from(OfficeDelivery)
                                .where(OfficeDelivery.push_state == "delivered")
                            )
                            or 0
                        )

                queue_depth = 2 * args.workers * args.concurrency
                started = time.perf_counter()
                done = 0
                while done < args.records:
                    if time.perf_counter() - started > args.timeout:
                        raise SystemExit(f"timed out with {done}/{args.records} delivered")
                    # Keep every worker thread busy: a few drain tasks (50 records each) always queued.
                    for _ in range(max(0, queue_depth - int(broker.llen("celery")))):
                        drain_outbox.delay()
                    time.sleep(0.2)
                    done = delivered()
                elapsed = time.perf_counter() - started

            with db.read() as session:
                failed = session.scalar(
                    select(func.count())
                    .select_from(OfficeDelivery)
                    .where(OfficeDelivery.push_state != "delivered")
                )
                retried = session.scalar(select(func.count()).where(OutboxMessage.attempts > 1))
            errors = sum(1 for h in receiver.hits if h.status != 200)
            print(
                f"workers: {args.workers} processes x {args.concurrency} thread(s); Celery, Redis, PostgreSQL"
            )
            print(f"delivered {done} records in {elapsed:.1f} s: {done / elapsed:.0f} records/s")
            print(f"received (distinct keys): {len(receiver.records)}")
            print(f"duplicates: {receiver.duplicates}")
            print(
                f"failures: {failed} not delivered, {errors} error answers, "
                f"{receiver.bad_signatures} bad signatures, {retried} messages retried"
            )
            app.extensions["db"].dispose()
            if receiver.duplicates or failed or len(receiver.records) != args.records:
                raise SystemExit("FAILED: duplicates or missing records")
    finally:
        for proc in workers:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in workers:
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


if __name__ == "__main__":
    main()

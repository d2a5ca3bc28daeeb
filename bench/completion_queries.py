"""Benchmark: stack completion and CEU eligibility for 100,000 learners x 15 credentials on PostgreSQL.

Runs the set-based service (lti_tool.services.eligibility.course_eligibility: one query over every
learner, lti_tool.db.queries.completion_table) and, side by side, the naive loop a
first version would write: for each learner, load their submissions through the ORM and apply the
domain rules. The naive loop runs over a sample of learners and is extrapolated (stated in the output);
pass --naive-all to run it over everyone.

    .venv/bin/python bench/completion_queries.py [--learners 100000] [--naive-sample 5000]

Needs PostgreSQL (BENCH_POSTGRES_URL, default postgresql://postgres@127.0.0.1:5432/postgres); it creates
and drops its own database.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import uuid
from pathlib import Path

from sqlalchemy import create_engine, select, text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from lti_tool.db import Database  # noqa: E402
from lti_tool.db.migrate import upgrade  # noqa: E402
from lti_tool.db.models import Context, Deployment, Grant, Platform, Submission  # noqa: E402
from lti_tool.domain.grants import GrantKind, due_grants  # noqa: E402
from lti_tool.services.course_maps import load_course_maps  # noqa: E402
from lti_tool.services.eligibility import course_eligibility  # noqa: E402
from lti_tool.services.map_versions import course_map_for_version  # noqa: E402

ADMIN_URL = os.environ.get("BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
MAP_DIR = Path(__file__).resolve().parent.parent / "course_maps" / "learning-differences"


def psycopg(url: str) -> str:
    return url.replace("postgresql://", "postgresql+psycopg://", 1)


def seed(db: Database, learners: int) -> tuple[int, int]:
    loaded = load_course_maps(db, [MAP_DIR])[0]
    with db.transaction() as session:
        platform = Platform(
            issuer="https://bench.example",
            client_id="bench",
            auth_login_url="https://bench.example/a",
            auth_token_url="https://bench.example/t",
            jwks_url="https://bench.example/j",
        )
        session.add(platform)
        session.flush()
        deployment = Deployment(platform_id=platform.id, deployment_id="1")
        session.add(deployment)
        session.flush()
        context = Context(
            deployment_id=deployment.id, context_id="bench", title="Bench", course_key=loaded.course_key
        )
        session.add(context)
        session.flush()
        ids = (platform.id, context.id)
    course = None
    with db.read() as session:
        course = course_map_for_version(session, loaded.version_id)
    keys = [k for s in course.stacks for k in s.credential_ids]
    with db.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO users (platform_id, sub, name, email, created_at) "
                "SELECT :p, 'b' || g, 'Learner ' || g, '', now() FROM generate_series(1, :n) g"
            ),
            {"p": ids[0], "n": learners},
        )
        # 15 submissions per learner; ~85% earned so that many, but not all, complete a stack.
        conn.execute(
            text(
                "INSERT INTO submissions (context_id, user_id, course_key, credential_key, map_version_id, "
                "state, attempt, answers, reflections, created_at, updated_at) "
                "SELECT :c, u.id, :course, k.key, :v, "
                "CASE WHEN hashtext(u.id::text || k.key) % 100 < 85 THEN 'earned' ELSE 'submitted' END, "
                "1, '{}', '{}', now(), now() "
                "FROM users u CROSS JOIN unnest(CAST(:keys AS text[])) AS k(key) WHERE u.platform_id = :p"
            ),
            {"c": ids[1], "course": loaded.course_key, "v": loaded.version_id, "keys": keys, "p": ids[0]},
        )
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        # What autovacuum would have done to a production table: hint bits set, statistics fresh.
        conn.execute(text("VACUUM ANALYZE"))
    return ids[1], loaded.version_id


def set_based(db: Database, context_id: int, repeats: int) -> tuple[list[float], int]:
    """The service a report or a reconciliation job calls: one query, every learner of the course."""
    timings = []
    count = 0
    for _ in range(repeats):
        start = time.perf_counter()
        report = course_eligibility(db, context_id)
        timings.append(time.perf_counter() - start)
        count = sum(report.complete_stacks.values())
    return timings, count


def naive(db: Database, context_id: int, version_id: int, sample: int) -> tuple[float, int, int]:
    """What a first version would write: per learner, load submissions and grants through the ORM and
    apply the domain rules (stack completion, the course award, grants not yet recorded)."""
    with db.read() as session:
        course = course_map_for_version(session, version_id)
        user_ids = list(
            session.scalars(
                select(Submission.user_id)
                .where(Submission.context_id == context_id)
                .distinct()
                .order_by(Submission.user_id)
                .limit(sample)
            )
        )
    complete = 0
    start = time.perf_counter()
    for user_id in user_ids:
        with db.read() as session:
            subs = session.scalars(
                select(Submission).where(Submission.context_id == context_id, Submission.user_id == user_id)
            ).all()
            granted = set(
                session.scalars(
                    select(Grant.target_key).where(Grant.context_id == context_id, Grant.user_id == user_id)
                )
            )
        earned = {s.credential_key for s in subs if s.state == "earned"}
        due = [g for g in due_grants(course, earned) if g.target_id not in granted]
        complete += sum(1 for g in due if g.kind is GrantKind.STACK)
    return time.perf_counter() - start, len(user_ids), complete


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--learners", type=int, default=100_000)
    parser.add_argument("--naive-sample", type=int, default=5_000)
    parser.add_argument("--naive-all", action="store_true")
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()

    name = f"lti_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(psycopg(ADMIN_URL), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    db = Database(url)
    try:
        upgrade(url)
        t0 = time.perf_counter()
        context_id, version_id = seed(db, args.learners)
        print(
            f"seeded {args.learners:,} learners x 15 credentials = {args.learners * 15:,} submissions "
            f"in {time.perf_counter() - t0:.1f}s"
        )
        set_based(db, context_id, 1)  # warm the cache
        timings, rows = set_based(db, context_id, args.repeats)
        best, median = min(timings), statistics.median(timings)
        sample = args.learners if args.naive_all else min(args.naive_sample, args.learners)
        naive_s, measured, naive_complete = naive(db, context_id, version_id, sample)
        naive_full = naive_s * args.learners / measured
        print()
        print(f"{'method':<34}{'learners':>10}{'seconds':>12}{'complete stacks':>18}")
        label = f"set-based SQL (median of {args.repeats})"
        print(f"{label:<34}{args.learners:>10,}{median:>12.3f}{rows:>18,}")
        print(f"{'set-based SQL (best)':<34}{args.learners:>10,}{best:>12.3f}{rows:>18,}")
        print(f"{'naive per-learner ORM loop':<34}{measured:>10,}{naive_s:>12.3f}{naive_complete:>18,}")
        if measured != args.learners:
            print(f"{'naive, extrapolated to all':<34}{args.learners:>10,}{naive_full:>12.1f}")
        print()
        print(
            f"speed-up (naive / set-based median): {naive_full / median:,.0f}x   "
            f"target: set-based < 1 s and >= 50x  ->  "
            f"{'MET' if median < 1 and naive_full / median >= 50 else 'NOT MET'}"
        )
    finally:
        db.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


if __name__ == "__main__":
    main()

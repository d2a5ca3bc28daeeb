"""Benchmark: stack completion and CEU eligibility for 100,000 learners x 15 credentials on PostgreSQL.

Runs the set-based service (lti_tool.services.eligibility.course_eligibility: one query over every
learner, lti_tool.db.queries.completion_table) and, side by side, the naive loop a
first version would write: for each learner, load their submissions, grants and started stack versions
through the ORM and apply the domain rules. The naive loop runs over a sample of learners and is
extrapolated (stated in the output); pass --naive-all to run it over everyone.

Every learner has started every stack under the loaded version (learner_stack_versions, 300,000 rows).
The set-based query is timed twice: with everyone on the live version, then after a new version (one
credential added to a stack) is published and --moved-share of the learners (default 70%) are moved on to
it, so the rest are judged by the older version: the query's general form.

    .venv/bin/python bench/completion_queries.py [--learners 100000] [--naive-sample 5000]

Needs PostgreSQL (BENCH_POSTGRES_URL, default postgresql://postgres@127.0.0.1:5432/postgres); it creates
and drops its own database.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

from sqlalchemy import create_engine, select, text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from seeding import bench_deployment  # noqa: E402

from lti_tool.db import Database  # noqa: E402
from lti_tool.db.migrate import upgrade  # noqa: E402
from lti_tool.db.models import (  # noqa: E402
    Context,
    Grant,
    LearnerStackVersion,
    Submission,
)
from lti_tool.domain.grants import GrantKind, due_grants  # noqa: E402
from lti_tool.domain.learner_map import as_started  # noqa: E402
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
        deployment = bench_deployment(session)
        context = Context(
            deployment_id=deployment.id, context_id="bench", title="Bench", course_key=loaded.course_key
        )
        session.add(context)
        session.flush()
        ids = (deployment.platform_id, context.id)
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
        # Each learner started each stack under this version.
        conn.execute(
            text(
                "INSERT INTO learner_stack_versions "
                "(context_id, user_id, course_key, stack_key, map_version_id, started_at) "
                "SELECT :c, u.id, :course, s.key, :v, now() "
                "FROM users u CROSS JOIN unnest(CAST(:stacks AS text[])) AS s(key) WHERE u.platform_id = :p"
            ),
            {
                "c": ids[1],
                "course": loaded.course_key,
                "v": loaded.version_id,
                "stacks": [s.id for s in course.stacks],
                "p": ids[0],
            },
        )
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        # What autovacuum would have done to a production table: hint bits set, statistics fresh.
        conn.execute(text("VACUUM ANALYZE"))
    return ids[1], loaded.version_id


def publish_new_version(db: Database, context_id: int, moved_share: float) -> int:
    """Load the map with a sixth credential in its first stack, and move ``moved_share`` of the learners on
    to it; the others stay judged by the version they started under. Returns the number moved."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / MAP_DIR.name
        shutil.copytree(MAP_DIR, root)
        last = "      - ef-engaging-your-peers\n"
        course_yaml = root / "course.yaml"
        course_yaml.write_text(course_yaml.read_text().replace(last, last + "      - ef-bench-added\n", 1))
        source = (root / "credentials" / "ef-engaging-your-peers.yaml").read_text()
        (root / "credentials" / "ef-bench-added.yaml").write_text(
            source.replace("id: ef-engaging-your-peers", "id: ef-bench-added", 1)
        )
        new = load_course_maps(db, [root])[0]
    with db.engine.begin() as conn:
        moved = conn.execute(
            text(
                "UPDATE learner_stack_versions SET map_version_id = :v "
                "WHERE context_id = :c AND abs(hashtext(user_id::text)) % 1000 < :share"
            ),
            {"v": new.version_id, "c": context_id, "share": int(moved_share * 1000)},
        ).rowcount
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE learner_stack_versions"))
    return int(moved or 0) // 3


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
    """What a first version would write: per learner, load submissions, grants and started versions through
    the ORM and apply the domain rules (stack completion, the course award, grants not yet recorded)."""
    with db.read() as session:
        live = course_map_for_version(session, version_id)
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
            started = {
                row.stack_key: course_map_for_version(session, row.map_version_id)
                for row in session.scalars(
                    select(LearnerStackVersion).where(
                        LearnerStackVersion.context_id == context_id,
                        LearnerStackVersion.user_id == user_id,
                        LearnerStackVersion.map_version_id != version_id,
                    )
                )
            }
        course = as_started(live, started)
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
    parser.add_argument("--moved-share", type=float, default=0.7)
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
        moved = publish_new_version(db, context_id, args.moved_share)
        set_based(db, context_id, 1)
        mixed, mixed_rows = set_based(db, context_id, args.repeats)
        label = f"set-based, mixed (median of {args.repeats})"
        print(f"{label:<34}{args.learners:>10,}{statistics.median(mixed):>12.3f}{mixed_rows:>18,}")
        print(
            f"  (mixed: a new version published; {args.learners - moved:,} learners still on the older one)"
        )
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

"""Benchmark: the designer's dashboard, the learner list and the assessor queue for a course of 50,000
learners on PostgreSQL, and the progress CSV export at 10,000 and 50,000 learners.

Fills two courses on the Learning Differences map (3 stacks, 15 credentials) with bulk inserts: 50,000 and
10,000 learners (memberships: 15% on the roster only, never launched), their evidence in realistic states
(each learner works through the credentials in order and stops somewhere: drafts, waiting, not yet,
earned; a fifth of the decided ones on a second attempt), a kept attempt and a decision per attempt
(``submission_attempts``, ``attempt_decisions``, over 26 weeks), a few review claims, and the CEU grants
and course awards their earned credentials call for.

Pages are requested through the Flask test client with a designer's (and assessor's) session; each
request is timed inside the process (server time, no network), 30 times after 3 warm-ups: p50 and p99
(with 30 samples p99 is the slowest). The CSV export is read to the end in a fresh process per course
size, twice: timed (rows per second; growth of the process's peak RSS, ru_maxrss) and under tracemalloc
(peak bytes Python allocated; not timed).

    .venv/bin/python bench/dashboard_scale.py [--learners 50000] [--small 10000] [--requests 30]

Needs PostgreSQL (BENCH_POSTGRES_URL, default postgresql://postgres@127.0.0.1:5432/postgres); it creates
and drops its own database.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
import uuid
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from seeding import bench_deployment  # noqa: E402

from lti_tool import create_app  # noqa: E402
from lti_tool.db import Database  # noqa: E402
from lti_tool.db.migrate import upgrade  # noqa: E402
from lti_tool.db.models import Context, Membership, User  # noqa: E402
from lti_tool.services import course_report  # noqa: E402
from lti_tool.services.course_maps import load_course_maps  # noqa: E402
from lti_tool.services.map_versions import course_map_for_version  # noqa: E402
from lti_tool.web.auth import Actor  # noqa: E402

ADMIN_URL = os.environ.get("BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
MAP_DIR = ROOT / "course_maps" / "learning-differences"
TARGET_MS = 200.0

FIRST = ["Ada", "Bo", "Chidi", "Dana", "Eun", "Farah", "Gus", "Hana", "Ivo", "Jun", "Kemi", "Lars"]
LAST = ["Okafor", "Smith", "Nguyen", "García", "Kowalski", "Haddad", "Ito", "Mensah", "Olsen", "Rossi"]

# One plan row per (learner, credential) with evidence: each learner works through the credentials in
# the map's order and stops at ``depth`` (0-15; the credential at ``depth`` is a draft); 15% never start.
PLAN = """
CREATE TEMP TABLE plan AS
WITH learners AS (
    SELECT u.id AS user_id, abs(hashtext(u.sub)) % 100 AS kind, abs(hashtext(u.sub || 'd')) % 16 AS depth,
           abs(hashtext(u.sub || 's')) % 120 AS start_day
    FROM users u JOIN memberships m ON m.user_id = u.id AND m.context_id = :c
    WHERE m.roles::text LIKE '%learner%'
), cells AS (
    SELECT l.user_id, k.i, k.key, l.depth, l.start_day,
           abs(hashtext(l.user_id::text || k.key)) % 100 AS r,
           abs(hashtext(k.key || l.user_id::text)) % 100 AS r2
    FROM learners l CROSS JOIN unnest(CAST(:keys AS text[])) WITH ORDINALITY AS k(key, i)
    WHERE l.kind >= 15 AND k.i - 1 <= l.depth
)
SELECT user_id, key,
       CASE WHEN i - 1 < depth THEN
            CASE WHEN r < 86 THEN 'earned' WHEN r < 92 THEN 'not_yet'
                 WHEN r < 98 THEN 'submitted' ELSE 'draft' END
            ELSE 'draft' END AS state,
       CASE WHEN r2 < 20 THEN 2 ELSE 1 END AS attempts,
       least(now() - interval '3 hours',
             now() - interval '182 days' + (start_day + (i - 1) * 4) * interval '1 day'
             + (r2 % 24) * interval '1 hour') AS created_at,
       (r * 7 + r2 * 3) % 240 AS decide_hours
FROM cells
"""


def psycopg(url: str) -> str:
    return url.replace("postgresql://", "postgresql+psycopg://", 1)


def seed_course(
    db: Database,
    version_id: int,
    course_key: str,
    platform_id: int,
    deployment_id: int,
    name: str,
    learners: int,
) -> dict[str, Any]:
    """A course with ``learners`` learners and their evidence; returns the ids the timings need."""
    with db.read() as session:
        course = course_map_for_version(session, version_id)
    keys = [k for s in course.stacks for k in s.credential_ids]
    with db.transaction() as session:
        context = Context(
            deployment_id=deployment_id, context_id=name, title=f"Bench {name}", course_key=course_key
        )
        session.add(context)
        session.flush()
        staff = {}
        for role_name, roles in (("designer", ["assessor", "designer"]), ("assessor", ["assessor"])):
            user = User(platform_id=platform_id, sub=f"{name}-{role_name}", name=f"Bench {role_name}")
            session.add(user)
            session.flush()
            session.add(Membership(context_id=context.id, user_id=user.id, roles=roles, source="launch"))
            staff[role_name] = (user.id, roles)
        context_id = context.id
    p = {
        "c": context_id,
        "p": platform_id,
        "n": learners,
        "name": name,
        "course": course_key,
        "v": version_id,
        "keys": keys,
        "first": FIRST,
        "last": LAST,
    }
    with db.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO users (platform_id, sub, name, email, created_at) "
                "SELECT :p, :name || '-' || g, "
                "(CAST(:first AS text[]))[1 + g % 12] || ' ' "
                "|| (CAST(:last AS text[]))[1 + (g / 12) % 10] || ' ' || g, "
                "'learner' || g || '@school.example', now() FROM generate_series(1, :n) g"
            ),
            p,
        )
        conn.execute(
            text(
                "INSERT INTO memberships (context_id, user_id, roles, status, source, last_launch_at) "
                "SELECT :c, u.id, '[\"learner\"]', 'Active', "
                "CASE WHEN abs(hashtext(u.sub)) % 100 < 15 THEN 'roster' ELSE 'launch' END, "
                "CASE WHEN abs(hashtext(u.sub)) % 100 < 15 THEN NULL ELSE now() END "
                "FROM users u WHERE u.platform_id = :p AND u.sub LIKE :name || '-%' AND u.sub ~ '-[0-9]+$'"
            ),
            p,
        )
        conn.execute(text(PLAN), p)
        conn.execute(
            text(
                "INSERT INTO submissions (context_id, user_id, course_key, credential_key, map_version_id, "
                "state, attempt, answers, reflections, created_at, updated_at, submitted_at, earned_at) "
                "SELECT :c, user_id, :course, key, :v, state, "
                "CASE WHEN state = 'draft' THEN 1 ELSE attempts END, "
                "'{\"q\": \"evidence\"}', '{}', created_at, created_at, "
                "CASE WHEN state = 'draft' THEN NULL ELSE created_at + interval '2 hours' END, "
                "CASE WHEN state = 'earned' "
                "THEN least(now(), created_at + (2 + decide_hours) * interval '1 hour') END "
                "FROM plan"
            ),
            p,
        )
        # Each submitted attempt as it was kept, and a decision for every decided one (a second attempt's
        # first was "not yet", decided two days before it was resubmitted).
        conn.execute(
            text(
                "INSERT INTO submission_attempts (submission_id, attempt, answers, reflections, artifacts, "
                "map_version_id, submitted_at) "
                "SELECT s.id, a.n, s.answers, '{}', '[]', :v, "
                "s.submitted_at - (s.attempt - a.n) * interval '5 days' "
                "FROM submissions s CROSS JOIN generate_series(1, 2) a(n) "
                "WHERE s.context_id = :c AND s.state <> 'draft' AND a.n <= s.attempt"
            ),
            p,
        )
        conn.execute(
            text(
                "INSERT INTO attempt_decisions "
                "(submission_id, attempt, decision, rule, reviews, map_version_id, decided_at) "
                "SELECT s.id, a.n, CASE WHEN a.n < s.attempt THEN 'not_yet' ELSE s.state END, "
                "'single', 1, :v, "
                "CASE WHEN a.n < s.attempt THEN s.submitted_at - (s.attempt - a.n) * interval '5 days' "
                "     + interval '3 days' "
                "     ELSE coalesce(s.earned_at, least(now(), s.submitted_at + interval '30 hours')) END "
                "FROM submissions s CROSS JOIN generate_series(1, 2) a(n) "
                "WHERE s.context_id = :c AND a.n <= s.attempt "
                "AND (s.state IN ('earned', 'not_yet') OR (s.state = 'submitted' AND a.n < s.attempt))"
            ),
            p,
        )
        conn.execute(
            text(
                "INSERT INTO review_claims (submission_id, assessor_id, attempt, claimed_at, expires_at) "
                "SELECT s.id, :a, s.attempt, now(), now() + interval '30 minutes' FROM submissions s "
                "WHERE s.context_id = :c AND s.state = 'submitted' AND s.id % 20 = 0"
            ),
            {**p, "a": staff["assessor"][0]},
        )
        for stack in course.stacks:
            conn.execute(
                text(
                    "INSERT INTO grants (context_id, user_id, kind, target_key, title, course_key, "
                    "map_version_id, contact_hours, ceus, granted_at) "
                    "SELECT :c, user_id, 'stack', :stack, :title, :course, :v, :hours, :ceus, max(earned_at) "
                    "FROM submissions WHERE context_id = :c AND state = 'earned' "
                    "AND credential_key = ANY(CAST(:stack_keys AS text[])) "
                    "GROUP BY user_id HAVING count(*) = :needed"
                ),
                {
                    **p,
                    "stack": stack.id,
                    "title": stack.title,
                    "hours": stack.contact_hours,
                    "ceus": stack.contact_hours / 10,
                    "stack_keys": list(stack.credential_ids),
                    "needed": len(stack.credential_ids),
                },
            )
        if course.award:
            conn.execute(
                text(
                    "INSERT INTO grants (context_id, user_id, kind, target_key, title, course_key, "
                    "map_version_id, contact_hours, ceus, granted_at) "
                    "SELECT :c, user_id, 'course_award', :award, :title, :course, :v, 0, 0, max(granted_at) "
                    "FROM grants WHERE context_id = :c AND kind = 'stack' "
                    "GROUP BY user_id HAVING count(*) = :n"
                ),
                {
                    **p,
                    "award": course.award.id,
                    "title": course.award.title,
                    "n": len(course.award.stack_ids),
                },
            )
        conn.execute(text("DROP TABLE plan"))
        counts = dict(
            conn.execute(
                text(
                    "SELECT 'submissions', count(*) FROM submissions WHERE context_id = :c UNION ALL "
                    "SELECT 'waiting', count(*) FROM submissions "
                    "WHERE context_id = :c AND state = 'submitted' "
                    "UNION ALL SELECT 'decisions', count(*) FROM attempt_decisions d JOIN submissions s "
                    "ON s.id = d.submission_id WHERE s.context_id = :c UNION ALL "
                    "SELECT 'grants', count(*) FROM grants WHERE context_id = :c"
                ),
                p,
            ).all()
        )
    return {"context_id": context_id, "staff": staff, "counts": counts}


def seed(url: str, sizes: list[int]) -> dict[str, Any]:
    db = Database(url)
    loaded = load_course_maps(db, [MAP_DIR])[0]
    with db.transaction() as session:
        deployment = bench_deployment(session)
        ids = deployment.platform_id, deployment.id
    courses = {}
    for n in sizes:
        courses[n] = seed_course(db, loaded.version_id, loaded.course_key, *ids, f"c{n}", n)
        courses[n]["platform_id"], courses[n]["deployment_id"] = ids
        courses[n]["course_key"] = loaded.course_key
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE"))  # what autovacuum would have done: hint bits, statistics
    db.dispose()
    return courses


def _app(url: str) -> Any:
    tmp = tempfile.mkdtemp(prefix="bench-dashboard-")
    return create_app(
        {
            "INSTANCE_PATH": tmp,
            "DATABASE_URL": url,
            "SECRET_KEY": "bench-" + uuid.uuid4().hex,
            "CELERY_BROKER_URL": "",
            "OUTBOX_SYNC": True,
            "WTF_CSRF_ENABLED": False,
            "BASE_URL": "http://tool.test",
            "DEVELOPMENT": "1",
        }
    )


def _client(app: Any, course: dict[str, Any], role: str) -> Any:
    user_id, roles = course["staff"][role]
    actor = Actor(
        user_id=user_id,
        platform_id=course["platform_id"],
        deployment_id=course["deployment_id"],
        context_id=course["context_id"],
        name=f"Bench {role}",
        roles=frozenset(roles),
        course_key=course["course_key"],
    )
    client = app.test_client()
    with client.session_transaction() as s:
        s["actor"] = actor.to_dict()
    return client


def time_page(client: Any, paths: list[str], requests: int) -> tuple[list[float], int]:
    """Milliseconds per request (server time: the WSGI call inside this process), cycling over ``paths``."""
    size = 0
    for path in paths[:3] * 1 + paths[:1] * 2:
        assert client.get(path).status_code == 200, path
    timings = []
    for i in range(requests):
        path = paths[i % len(paths)]
        start = time.perf_counter()
        response = client.get(path)
        body = response.get_data()
        timings.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200, (path, response.status_code)
        size = max(size, len(body))
    return timings, size


def p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(0.99 * (len(ordered) - 1))))]


def csv_child(url: str, course: dict[str, Any], traced: bool) -> dict[str, Any]:
    """The CSV export read to the end through the view, in this (fresh) process."""
    app = _app(url)
    client = _client(app, course, "designer")
    client.get("/design/")  # connect, load the map: not part of the export
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    if traced:
        tracemalloc.start()
    start = time.perf_counter()
    response = client.get("/design/learners.csv", buffered=False)
    assert response.status_code == 200
    lines = size = 0
    for chunk in response.response:
        data = chunk if isinstance(chunk, bytes) else chunk.encode()
        size += len(data)
        lines += data.count(b"\n")
    seconds = time.perf_counter() - start
    peak = tracemalloc.get_traced_memory()[1] if traced else 0
    response.close()
    growth = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before
    app.extensions["db"].dispose()
    return {
        "rows": lines - 1,
        "bytes": size,
        "seconds": seconds,
        "rss_growth_kb": growth,
        "maxrss_kb": rss_before + growth,
        "tracemalloc_peak": peak,
    }


def _csv(url: str, course: dict[str, Any], traced: bool) -> dict[str, Any]:
    args = [sys.executable, __file__, "--csv-child", url, json.dumps(course), "1" if traced else "0"]
    done = subprocess.run(args, check=True, capture_output=True, text=True)
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--learners", type=int, default=50_000)
    parser.add_argument("--small", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=30)
    parser.add_argument("--keep", action="store_true", help="keep the database (prints its URL)")
    parser.add_argument("--csv-child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.csv_child:
        url, course, traced = args.csv_child
        course_ = json.loads(course)
        course_["staff"] = {k: tuple(v) for k, v in course_["staff"].items()}
        print(json.dumps(csv_child(url, course_, traced == "1")))
        return

    name = f"lti_bench_dash_{uuid.uuid4().hex[:8]}"
    admin = create_engine(psycopg(ADMIN_URL), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    try:
        upgrade(url)
        t0 = time.perf_counter()
        courses = seed(url, [args.learners, args.small])
        print(f"seeded {args.learners:,} + {args.small:,} learners in {time.perf_counter() - t0:.0f}s")
        for n, course in courses.items():
            c = course["counts"]
            print(
                f"  {n:>7,} learners: {c['submissions']:,} submissions ({c['waiting']:,} waiting), "
                f"{c['decisions']:,} attempt decisions, {c['grants']:,} grants"
            )
        big = courses[args.learners]
        app = _app(url)
        designer, assessor = _client(app, big, "designer"), _client(app, big, "assessor")
        pages = [
            ("designer dashboard  GET /design/", designer, ["/design/"]),
            (
                "learner list        GET /design/learners",
                designer,
                [
                    "/design/learners",
                    "/design/learners?page=400",
                    "/design/learners?q=okafor&page=3",
                    "/design/learners?q=learner4999",
                ],
            ),
            ("assessor queue      GET /assess/", assessor, ["/assess/"]),
        ]
        print()
        print(
            f"{args.learners:,} learners, server time over {args.requests} requests (target p50 and p99 < "
            f"{TARGET_MS:.0f} ms)"
        )
        print(f"{'page':<42}{'p50 ms':>9}{'p99 ms':>9}{'max KB':>9}  target")
        met = True
        for label, client, paths in pages:
            timings, size = time_page(client, paths, args.requests)
            p50, top = statistics.median(timings), p99(timings)
            ok = p50 < TARGET_MS and top < TARGET_MS
            met &= ok
            print(f"{label:<42}{p50:>9.1f}{top:>9.1f}{size / 1024:>9.0f}  {'MET' if ok else 'NOT MET'}")
        # The dashboard when its counts must be computed: a process's first view of the course, or the
        # first view after its evidence changed (the report's kept aggregates are dropped before each).
        cold = []
        for _ in range(5):
            course_report._cache.clear()
            start = time.perf_counter()
            assert designer.get("/design/").status_code == 200
            cold.append((time.perf_counter() - start) * 1000)
        print(
            f"{'dashboard, counts recomputed (5 requests)':<42}"
            f"{statistics.median(cold):>9.1f}{max(cold):>9.1f}"
            "           (first view, or the first after a change)"
        )
        app.extensions["db"].dispose()
        print()
        print("progress CSV export (GET /design/learners.csv, streamed), each run in a fresh process")
        print(
            f"{'learners':>9}{'rows':>9}{'rows/s':>10}{'MB':>7}"
            f"{'ru_maxrss growth':>18}{'tracemalloc peak':>18}"
        )
        for n in sorted(courses):
            timed, traced = _csv(url, courses[n], False), _csv(url, courses[n], True)
            print(
                f"{n:>9,}{timed['rows']:>9,}{timed['rows'] / timed['seconds']:>10,.0f}"
                f"{timed['bytes'] / 1e6:>7.1f}{timed['rss_growth_kb'] / 1024:>15.1f} MB"
                f"{traced['tracemalloc_peak'] / 1024 / 1024:>15.2f} MB"
            )
        print()
        print(f"pages: {'ALL MET' if met else 'NOT MET'}")
    finally:
        if args.keep:
            print(f"kept: {url}")
        else:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


if __name__ == "__main__":
    main()

"""Full LTI login + launch cycles per second: our tool (gunicorn, real database) vs a minimal pylti1p3 tool.

One command: ``.venv/bin/python bench/launch_throughput.py [--seconds 5] [--rounds 5] [--workers 4]
[--threads 1] [--databases sqlite postgresql]``. By default it runs on SQLite (a temporary file) and on
PostgreSQL (a scratch database created on ``--postgres-url``, default
postgresql://postgres@127.0.0.1:5432/postgres, and dropped afterwards; skipped with a note when the server
is unreachable).

Each cycle is what a user waits for, as a browser does it: POST the platform's login initiation to the tool,
read the redirect to the platform's auth endpoint, sign the id_token as the platform would (the client is the
platform here; signing is left out of the timings), POST it with the state to the tool's launch URL (cookies
kept), and follow the launch's redirect to the landing page until it is rendered (a launch that answers
with the rendered landing page itself has no landing phase: ours does for a learner). Both tools verify the
signature against the same platform JWKS server, which counts its fetches. Our tool runs every check, writes
the launch (state, nonce, user, context, membership) and renders the learner's progress in the Learning
Differences map; the baseline is pylti1p3 with its public-key cache on, rendering a greeting page
(bench/minimal_pylti1p3_tool.py). The figures: cycles per second, p50/p99 of whole cycles, the median of each
phase (login, launch, landing), and the SQL statements each phase of ours runs.

Like for like: both tools run under gunicorn with the same worker and thread counts on 127.0.0.1, the
clients are the same code (the platform's RSA signing, one per cycle, costs both tools the same), a
warm-up run with every client is excluded from the figures, and the tools take turns (``--rounds``
interleaved A/B, B/A, ...: both meet the same background load on a shared machine); the figures are the
medians over the rounds, the ratios the medians of each round's ratio with their range.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jwt
import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.lti_platform_helpers import TestPlatform  # noqa: E402  (a real platform: key + counting JWKS server)

CLIENT_ID = "bench-client"
DEPLOYMENT_ID = "1"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait(url: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            requests.get(url, timeout=1)
            return
        except requests.RequestException:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not start")


def _claims(issuer: str, nonce: str, target: str, sub: str) -> dict[str, Any]:
    lti = "https://purl.imsglobal.org/spec/lti/claim/"
    now = int(time.time())
    return {
        "iss": issuer,
        "aud": CLIENT_ID,
        "sub": sub,
        "iat": now,
        "exp": now + 60,
        "nonce": nonce,
        "name": f"Learner {sub}",
        "email": f"{sub}@bench.example",
        lti + "deployment_id": DEPLOYMENT_ID,
        lti + "message_type": "LtiResourceLinkRequest",
        lti + "version": "1.3.0",
        lti + "target_link_uri": target,
        lti + "roles": ["http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"],
        lti + "context": {"id": "bench-course", "title": "Bench course", "type": ["CourseSection"]},
        lti + "resource_link": {"id": "1", "title": "Bench"},
        # Our tool binds the (unbound) bench course to the shipped map: the landing page shows real progress.
        lti + "custom": {"course_map": "learning-differences"},
    }


# What each tool's landing page shows once rendered (by login path): the learner's stacks in ours, the
# greeting in the baseline; not an error page nor "not set up yet".
LANDED = {"/lti/login": 'class="card stack"', "/login": "<h1>Welcome, "}


def _cycle(
    browser: requests.Session, base: str, login_path: str, issuer: str, kid: str, key: Any, sub: str
) -> tuple[float, float, float]:
    """One user's launch as a browser does it, to the rendered landing page: (login, launch, landing) s."""
    target = base + ("/lti/launch" if login_path == "/lti/login" else "/launch")
    form = {
        "iss": issuer,
        "login_hint": "4",
        "target_link_uri": target,
        "client_id": CLIENT_ID,
        "lti_deployment_id": DEPLOYMENT_ID,
        "lti_message_hint": '{"cmid":1}',
    }
    t0 = time.perf_counter()
    answer = browser.post(base + login_path, data=form, allow_redirects=False, timeout=30)
    if answer.status_code != 302:
        raise RuntimeError(f"login answered {answer.status_code}: {answer.text[:300]}")
    params = {k: v[0] for k, v in parse_qs(urlsplit(answer.headers["Location"]).query).items()}
    t1 = time.perf_counter()
    # The platform's part (signing the id_token) is not the tool's time: it is left out of the phases.
    token = jwt.encode(
        _claims(issuer, params["nonce"], target, sub), key, algorithm="RS256", headers={"kid": kid}
    )
    t2 = time.perf_counter()
    launched = browser.post(
        params["redirect_uri"],
        data={"id_token": token, "state": params["state"]},
        allow_redirects=False,
        timeout=30,
    )
    t3 = time.perf_counter()
    if launched.status_code == 200:
        page = launched  # the launch answered with the landing page itself: no landing phase
    elif launched.status_code == 303:
        page = browser.get(base + launched.headers["Location"], timeout=30)
    else:
        raise RuntimeError(f"launch answered {launched.status_code}: {launched.text[:300]}")
    if page.status_code != 200 or LANDED[login_path] not in page.text or "</html>" not in page.text:
        raise RuntimeError(f"landing page answered {page.status_code}: {page.text[:300]}")
    t4 = time.perf_counter()
    return t1 - t0, t3 - t2, t4 - t3


def _client(args: tuple[str, str, str, str, str, float, int]) -> list[tuple[float, float, float]]:
    base, login_path, issuer, kid, pem, seconds, worker = args
    from cryptography.hazmat.primitives import serialization

    private_key = serialization.load_pem_private_key(pem.encode(), password=None)  # once, as a platform does
    phases: list[tuple[float, float, float]] = []
    deadline = time.monotonic() + seconds
    n = 0
    while time.monotonic() < deadline:
        n += 1
        browser = requests.Session()  # a new browser each time: a user's first launch of the day
        phases.append(_cycle(browser, base, login_path, issuer, kid, private_key, f"u{worker}-{n % 50}"))
    return phases


def _statements_per_phase(env: dict[str, str], platform: TestPlatform) -> str:
    """Run one cycle of ours in process (Flask test client, same database) and count its SQL statements."""
    from sqlalchemy import event

    from lti_tool import create_app

    app = create_app({k: env[k] for k in ("DATABASE_URL", "BASE_URL", "SECRET_KEY", "DEVELOPMENT")})
    database = app.extensions["db"]
    engines = [database.engine, database.read_engine, database.lazy_engine]
    counter = {"n": 0}

    def count(*_args: Any) -> None:
        counter["n"] += 1

    for engine in {e for e in engines if e is not None}:
        event.listen(engine, "before_cursor_execute", count)
    client = app.test_client()
    from cryptography.hazmat.primitives import serialization

    key = serialization.load_pem_private_key(platform.key.pem.encode(), password=None)
    base = env["BASE_URL"]
    counts = []
    form = {
        "iss": platform.issuer,
        "login_hint": "4",
        "target_link_uri": base + "/lti/launch",
        "client_id": CLIENT_ID,
        "lti_deployment_id": DEPLOYMENT_ID,
    }
    for attempt in range(2):  # the first warms the process (keys, map cache); the second is counted
        counter["n"] = 0
        answer = client.post("/lti/login", data=form)
        params = {k: v[0] for k, v in parse_qs(urlsplit(answer.headers["Location"]).query).items()}
        counts = [counter["n"]]
        claims = _claims(platform.issuer, params["nonce"], base + "/lti/launch", f"count-{attempt}")
        token = jwt.encode(claims, key, algorithm="RS256", headers={"kid": platform.key.kid})
        counter["n"] = 0
        launched = client.post("/lti/launch", data={"id_token": token, "state": params["state"]})
        counts.append(counter["n"])
        counter["n"] = 0
        if launched.status_code == 303:
            page = client.get(launched.headers["Location"])
            assert page.status_code == 200, page.status_code
        counts.append(counter["n"])  # 0 when the launch answered with the page (counted in the launch)
    app.extensions["db"].dispose()
    return f"login {counts[0]}, launch {counts[1]}, landing page {counts[2]}"


def _run(
    pool: ProcessPoolExecutor,
    base: str,
    login_path: str,
    platform: TestPlatform,
    clients: int,
    seconds: float,
) -> dict[str, float]:
    jobs = [
        (base, login_path, platform.issuer, platform.key.kid, platform.key.pem, seconds, i)
        for i in range(clients)
    ]
    started = time.perf_counter()
    results = list(pool.map(_client, jobs))
    elapsed = time.perf_counter() - started
    cycles = [p for r in results for p in r]
    latencies = sorted(sum(p) for p in cycles)
    return {
        "cycles": len(latencies),
        "rate": len(latencies) / elapsed,
        "p50": statistics.median(latencies) * 1000,
        "p99": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000,
        "login": statistics.median(p[0] for p in cycles) * 1000,
        "launch": statistics.median(p[1] for p in cycles) * 1000,
        "landing": statistics.median(p[2] for p in cycles) * 1000,
    }


@contextmanager
def _scratch_database(kind: str, work: Path, postgres_url: str) -> Iterator[str | None]:
    """A migrated, empty database of ``kind``; None when PostgreSQL is unreachable."""
    from sqlalchemy import create_engine, text

    from lti_tool.db.migrate import upgrade

    if kind == "sqlite":
        url = f"sqlite:///{work / 'bench.sqlite3'}"
        upgrade(url)
        yield url
        return
    admin_url = postgres_url.replace("postgresql://", "postgresql+psycopg://", 1)
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3})
    name = f"lti_bench_{uuid.uuid4().hex[:8]}"
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # noqa: BLE001  (any connection failure: report and skip this database)
        print(f"postgresql: skipped, {postgres_url} is not reachable ({type(exc).__name__})")
        admin.dispose()
        yield None
        return
    url = postgres_url.rsplit("/", 1)[0] + f"/{name}"
    try:
        upgrade(url)
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _bench_database(args: argparse.Namespace, database_url: str, kind: str, work: Path) -> None:
    python = Path(sys.executable)
    gunicorn = str(python.parent / "gunicorn")
    platform = TestPlatform(client_id=CLIENT_ID, deployment_id=DEPLOYMENT_ID)
    ours_port, minimal_port = _free_port(), _free_port()
    ours, minimal = f"http://127.0.0.1:{ours_port}", f"http://127.0.0.1:{minimal_port}"

    from lti_tool.db import Database
    from lti_tool.lti.registrations import save_platform

    db = Database(database_url)
    save_platform(
        db,
        issuer=platform.issuer,
        client_id=CLIENT_ID,
        auth_login_url=platform.issuer + "/auth",
        auth_token_url=platform.issuer + "/token",
        jwks_url=platform.jwks_url,
        deployment_ids=[DEPLOYMENT_ID],
        development=True,
    )
    from lti_tool.services.course_maps import load_course_maps

    load_course_maps(db, [ROOT / "course_maps" / "learning-differences"])
    db.dispose()
    env = dict(
        os.environ,
        DATABASE_URL=database_url,
        BASE_URL=ours,
        DEVELOPMENT="1",  # the bench platform serves plain http on 127.0.0.1
        SECRET_KEY="bench-secret-" + os.urandom(8).hex(),
        CELERY_BROKER_URL="",
        PYTHONPATH=str(ROOT),
    )
    tool_conf = {
        platform.issuer: [
            {
                "default": True,
                "client_id": CLIENT_ID,
                "auth_login_url": platform.issuer + "/auth",
                "auth_token_url": platform.issuer + "/token",
                "key_set_url": platform.jwks_url,
                "key_set": None,
                "deployment_ids": [DEPLOYMENT_ID],
            }
        ]
    }
    # The same server settings for both tools: sync workers (gthread when --threads > 1).
    common = ["-w", str(args.workers), "--threads", str(args.threads), "--log-level", "warning"]
    # The servers' logs (ours writes one line per launch) go to files, not between the figures.
    ours_log = open(work / f"ours-{kind}.log", "w")  # noqa: SIM115  (closed in finally)
    minimal_log = open(work / f"minimal-{kind}.log", "w")  # noqa: SIM115
    servers = [
        subprocess.Popen(
            [gunicorn, *common, "-b", f"127.0.0.1:{ours_port}", "lti_tool:create_app()"],
            env=env,
            cwd=ROOT,
            stdout=ours_log,
            stderr=subprocess.STDOUT,
        ),
        subprocess.Popen(
            [
                gunicorn,
                *common,
                "-b",
                f"127.0.0.1:{minimal_port}",
                "--chdir",
                str(ROOT / "bench"),
                "minimal_pylti1p3_tool:app",
            ],
            env=dict(env, MINIMAL_TOOL_CONFIG=json.dumps(tool_conf)),
            cwd=ROOT,
            stdout=minimal_log,
            stderr=subprocess.STDOUT,
        ),
    ]
    try:
        _wait(ours + "/lti/config.json")
        _wait(minimal + "/")
        runs: dict[tuple[str, int], list[dict[str, float]]] = {}
        fetches: dict[str, int] = {"ours": 0, "minimal": 0}
        launches: dict[str, int] = {"ours": 0, "minimal": 0}
        tools = {"ours": (ours, "/lti/login"), "minimal": (minimal, "/login")}
        with ProcessPoolExecutor(max_workers=max(args.concurrency)) as pool:
            for base, login_path in tools.values():
                _run(pool, base, login_path, platform, max(args.concurrency), 2.0)  # warm-up: every worker
            # Interleaved (A/B, then B/A, ...): both tools meet the same background load on a shared machine.
            for round_ in range(args.rounds):
                order = ["ours", "minimal"] if round_ % 2 == 0 else ["minimal", "ours"]
                for clients in args.concurrency:
                    for name in order:
                        base, login_path = tools[name]
                        before = platform.jwks_fetches
                        r = _run(pool, base, login_path, platform, clients, args.seconds)
                        runs.setdefault((name, clients), []).append(r)
                        fetches[name] += platform.jwks_fetches - before
                        launches[name] += int(r["cycles"])
        results = {
            key: {field: statistics.median(r[field] for r in rs) for field in rs[0]}
            for key, rs in runs.items()
        }
        print(
            f"\ndatabase: {kind}, gunicorn workers: {args.workers}, threads: {args.threads}, "
            f"{args.seconds:.0f} s per run, {args.rounds} interleaved round(s): medians over the rounds"
        )
        print(
            f"{'tool':<9}{'clients':>8}{'cycles':>9}{'cycles/s':>11}{'p50 ms':>9}{'p99 ms':>9}"
            f"{'login':>9}{'launch':>9}{'landing':>9}  (phase medians, ms)"
        )
        for (name, clients), r in sorted(results.items(), key=lambda kv: (kv[0][1], kv[0][0] != "ours")):
            print(
                f"{name:<9}{clients:>8}{int(r['cycles']):>9}{r['rate']:>11.1f}{r['p50']:>9.1f}{r['p99']:>9.1f}"
                f"{r['login']:>9.1f}{r['launch']:>9.1f}{r['landing']:>9.1f}"
            )
        for clients in args.concurrency:
            pairs = list(zip(runs[("ours", clients)], runs[("minimal", clients)], strict=True))
            rates = sorted(o["rate"] / m["rate"] for o, m in pairs)
            p99s = sorted(o["p99"] / m["p99"] for o, m in pairs)
            print(
                f"ratio at {clients:>2} clients (median of rounds [range]): throughput "
                f"{statistics.median(rates):.2f}x [{rates[0]:.2f}-{rates[-1]:.2f}] (target >=1 at 1), "
                f"p99 {statistics.median(p99s):.2f}x [{p99s[0]:.2f}-{p99s[-1]:.2f}] (target <= 1.25 at 16)"
            )
        print(
            f"JWKS fetches per launch after warm-up: ours {fetches['ours'] / max(launches['ours'], 1):.3f} "
            f"(target 0), minimal pylti1p3 (key cache on) "
            f"{fetches['minimal'] / max(launches['minimal'], 1):.3f}"
        )
        print(
            "SQL statements per phase, ours (one cycle, in process): " + _statements_per_phase(env, platform)
        )
    finally:
        for server in servers:
            server.terminate()
        for server in servers:
            server.wait(timeout=10)
        platform.close()
        ours_log.close()
        minimal_log.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="duration of each measured run")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers for each tool")
    parser.add_argument("--threads", type=int, default=1, help="gunicorn threads per worker, both tools")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 16])
    parser.add_argument(
        "--rounds", type=int, default=5, help="interleaved rounds of both tools; the figures are medians"
    )
    parser.add_argument(
        "--databases", nargs="+", choices=["sqlite", "postgresql"], default=["sqlite", "postgresql"]
    )
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get("BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"),
        help="server on which a scratch database is created and dropped",
    )
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="lti-bench-"))
    for kind in args.databases:
        with _scratch_database(kind, work, args.postgres_url) as database_url:
            if database_url is not None:
                _bench_database(args, database_url, kind, work)


if __name__ == "__main__":
    main()

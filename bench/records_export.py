"""Benchmark: roster exports of 10,000 and 100,000 office records as CSV, both layouts, memory kept flat.

Fills a database with 100,000 issued record events for one office (bulk inserts; payloads shaped by the
records service's own ``record_payload``), then exports the first 10,000 and all 100,000 through
``lti_tool.services.office_exports.write_roster`` to /dev/null, in the generic and the CE Broker layout.
Each export runs in a fresh process, twice: once timed (rows per second, and the growth of the process's
peak RSS, ru_maxrss, over the export), once under tracemalloc (peak bytes Python allocated during the
export; tracemalloc slows Python down, so that run is not timed). Flat means the 100,000-row figures are
close to the 10,000-row ones.

    .venv/bin/python bench/records_export.py [--rows 100000] [--small 10000]

PostgreSQL when TEST_POSTGRES_URL (or BENCH_POSTGRES_URL) is set and reachable (it creates and drops its own
database), else a temporary SQLite file.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
import tracemalloc
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, insert, select, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from seeding import bench_deployment  # noqa: E402

from lti_tool.db import Database  # noqa: E402
from lti_tool.db.migrate import upgrade  # noqa: E402
from lti_tool.db.models import Context, CourseMapVersion, User  # noqa: E402
from lti_tool.db.records_models import Award, EducatorProfile, OfficeDelivery  # noqa: E402
from lti_tool.domain.licensure import (  # noqa: E402
    CeBrokerIds,
    ConversionRule,
    FileLayout,
    OfficeProfile,
    RuleKind,
)
from lti_tool.services.course_maps import load_course_maps  # noqa: E402
from lti_tool.services.office_exports import write_roster  # noqa: E402
from lti_tool.services.records import record_payload  # noqa: E402
from lti_tool.services.records_settings import RecordsSettings  # noqa: E402

MAP_DIR = ROOT / "course_maps" / "learning-differences"
START = datetime(2026, 1, 1, tzinfo=UTC)
BATCH = 5000
OFFICE = OfficeProfile(
    key="nc-dpi",
    name="North Carolina Department of Public Instruction",
    state="NC",
    jurisdiction="North Carolina",
    unit_singular="renewal credit",
    unit_plural="renewal credits",
    rule=ConversionRule(RuleKind.HOURS_PER_UNIT, hours_per_unit=Decimal(10)),
    accepts=frozenset({"stack", "course_award"}),
    pull=True,
    file_layouts=(FileLayout.GENERIC, FileLayout.CE_BROKER),
    ce_broker=CeBrokerIds("50-4321", "20-987654", "Teacher"),
)
NAMES = ["Zoë Ångström", 'Mae O\'Brien, "Jr."', "李小龍", "=Formula Person", "Ada Lovelace"]


def _pg_url() -> str | None:
    url = os.environ.get("BENCH_POSTGRES_URL") or os.environ.get("TEST_POSTGRES_URL")
    if not url:
        return None
    try:
        engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
        return url
    except Exception:
        return None


def _at(i: int) -> datetime:
    return START + timedelta(seconds=30 * i)  # 100,000 records over about 35 days


def seed(db: Database, rows: int) -> None:
    """One course, 1,000 educators, ``rows`` awards and as many issued events for the office."""
    course_key = load_course_maps(db, [MAP_DIR])[0].course_key
    with db.transaction() as session:
        deployment = bench_deployment(session)
        context = Context(
            deployment_id=deployment.id, context_id="bench", title="Bench", course_key=course_key
        )
        session.add(context)
        session.flush()
        version_id = session.scalars(select(CourseMapVersion.id)).first()
        platform_id = deployment.platform_id
        users = [User(platform_id=platform_id, sub=f"u{i}", name=f"u{i}", email="") for i in range(1000)]
        session.add_all(users)
        session.flush()
        user_ids = [u.id for u in users]
        context_id = context.id
    settings = RecordsSettings(base_url="https://tool.example.edu")
    profile = EducatorProfile(legal_name="", state="NC", licence_number="")
    for first in range(0, rows, BATCH):
        span = range(first, min(first + BATCH, rows))
        awards = [
            {
                "public_id": f"MCS-{i:010d}",
                "context_id": context_id,
                "user_id": user_ids[i % len(user_ids)],
                "kind": "stack",
                "target_key": f"stack-{i}",
                "title": "Executive Function",
                "course_key": course_key,
                "map_version_id": version_id,
                "contact_hours": Decimal("10.00"),
                "ceus": Decimal("1.0"),
                "details": {"course_title": "Learning Differences", "credentials": []},
                "issued_at": _at(i),
                "revoked_at": _at(i) + timedelta(days=2) if i % 50 == 0 else None,
            }
            for i in span
        ]
        with db.transaction() as session:
            session.execute(insert(Award), awards)
            ids = session.scalars(
                select(Award.id)
                .where(Award.public_id.in_([a["public_id"] for a in awards]))
                .order_by(Award.id)
            ).all()
            deliveries = []
            for i, award_id, values in zip(span, ids, awards, strict=True):
                award = Award(**{**values, "revoked_at": None})  # the event was issued before any revocation
                profile.legal_name, profile.licence_number = NAMES[i % len(NAMES)], f"{i:07d}"
                key = secrets.token_hex(16)
                payload = record_payload(
                    award,
                    OFFICE,
                    profile,
                    Decimal("1.0"),
                    event="issued",
                    idempotency_key=key,
                    settings=settings,
                )
                deliveries.append(
                    {
                        "award_id": award_id,
                        "user_id": values["user_id"],
                        "office_key": OFFICE.key,
                        "event": "issued",
                        "idempotency_key": key,
                        "payload": payload,
                        "created_at": _at(i),
                    }
                )
            session.execute(insert(OfficeDelivery), deliveries)


def measure(url: str, layout: str, rows: int, traced: bool) -> dict[str, Any]:
    """One export in this (fresh) process: rows, seconds, ru_maxrss growth, tracemalloc peak."""
    db = Database(url)
    with db.read() as session:  # connect and warm up before the baseline
        session.execute(select(OfficeDelivery.id).limit(1)).all()
    end = _at(rows)  # [START, end) holds exactly ``rows`` records
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    if traced:
        tracemalloc.start()
    started = time.perf_counter()
    with open(os.devnull, "w", encoding="utf-8", newline="") as out:
        summary = write_roster(db, OFFICE, FileLayout(layout), START, end, out)
    seconds = time.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1] if traced else 0
    rss_growth_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before
    db.dispose()
    return {
        "rows": summary.rows + summary.revoked_left_out,
        "written": summary.rows,
        "seconds": seconds,
        "rss_growth_kb": rss_growth_kb,
        "maxrss_kb": rss_before + rss_growth_kb,
        "tracemalloc_peak": peak,
    }


def _child(url: str, layout: str, rows: int, traced: bool) -> dict[str, Any]:
    args = [sys.executable, __file__, "--child", url, layout, str(rows), "1" if traced else "0"]
    done = subprocess.run(args, check=True, capture_output=True, text=True)
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--small", type=int, default=10_000)
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        url, layout, rows, traced = args.child
        print(json.dumps(measure(url, layout, int(rows), traced == "1")))
        return

    pg = _pg_url()
    tmp = tempfile.mkdtemp(prefix="bench-export-")
    name = f"bench_export_{uuid.uuid4().hex[:8]}"
    admin = None
    if pg:
        admin = create_engine(
            pg.replace("postgresql://", "postgresql+psycopg://", 1), isolation_level="AUTOCOMMIT"
        )
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        url = pg.rsplit("/", 1)[0] + f"/{name}"
    else:
        url = f"sqlite:///{tmp}/bench.sqlite3"
    try:
        upgrade(url)
        db = Database(url)
        started = time.perf_counter()
        seed(db, args.rows)
        db.dispose()
        seconds = time.perf_counter() - started
        print(f"database: {db.dialect}; seeded {args.rows:,} record events in {seconds:.1f} s")
        columns = ("rows", "written", "rows/s", "ru_maxrss growth", "ru_maxrss", "tracemalloc peak")
        widths = (8, 8, 9, 17, 10, 17)
        print(f"{'layout':<10} " + " ".join(f"{c:>{w}}" for c, w in zip(columns, widths, strict=True)))
        for layout in (FileLayout.GENERIC.value, FileLayout.CE_BROKER.value):
            for rows in (args.small, args.rows):
                timed = _child(url, layout, rows, traced=False)
                traced = _child(url, layout, rows, traced=True)
                print(
                    f"{layout:<10} {timed['rows']:>8,} {timed['written']:>8,} "
                    f"{timed['rows'] / timed['seconds']:>9,.0f} {timed['rss_growth_kb'] / 1024:>14.1f} MB "
                    f"{timed['maxrss_kb'] / 1024:>7.0f} MB "
                    f"{traced['tracemalloc_peak'] / 1024 / 1024:>14.2f} MB"
                )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        if admin is not None:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()


if __name__ == "__main__":
    main()

"""SQLite units of work queue for the write lock in the kernel; a unit of work nested on one thread does not
deadlock on that queue."""

from __future__ import annotations

import threading
from pathlib import Path

from sqlalchemy import func, select

from lti_tool.db import Database
from lti_tool.db.migrate import upgrade
from lti_tool.db.models import AuditEvent
from lti_tool.services import audit


def _db(tmp_path: Path) -> Database:
    url = f"sqlite:///{tmp_path / 'w.sqlite3'}"
    upgrade(url)
    return Database(url)


def test_concurrent_writers_all_commit(tmp_path: Path) -> None:
    db = _db(tmp_path)

    def write(n: int) -> None:
        for i in range(20):
            with db.transaction() as session:
                audit.record(session, action="test", subject_type="t", subject_id=f"{n}-{i}", actor="t")

    threads = [threading.Thread(target=write, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    with db.read() as session:
        assert session.scalar(select(func.count()).select_from(AuditEvent)) == 160
    db.dispose()


def test_a_nested_unit_of_work_does_not_deadlock_on_the_queue(tmp_path: Path) -> None:
    db = _db(tmp_path)
    done = threading.Event()

    def nested() -> None:
        with db.transaction() as outer:
            audit.record(outer, action="outer", subject_type="t", subject_id="1", actor="t")
            outer.flush()
        with db.transaction() as first, db.writers.turn():  # type: ignore[union-attr]
            audit.record(first, action="inner", subject_type="t", subject_id="2", actor="t")
        done.set()

    worker = threading.Thread(target=nested)
    worker.start()
    worker.join(20)
    assert done.is_set()
    db.dispose()

"""The database handle: one engine and session factory per app; ``transaction()`` is the unit of work.

On SQLite, ``transaction()`` starts with ``BEGIN IMMEDIATE`` (the write lock, taken up front: two units of
work never both read, then both write, since SQLite has no SELECT ... FOR UPDATE), while ``read()`` runs
on its own engine whose transactions start with a plain (deferred) ``BEGIN``: under WAL a reader sees a
consistent snapshot and never waits for, or holds up, a writer.
"""

from __future__ import annotations

import fcntl
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

# PostgreSQL connections are recycled after this many seconds instead of being pinged on every checkout
# (pool_pre_ping costs a round trip per request); a connection the server dropped meanwhile is detected
# on use, invalidated, and the pool starts afresh.
PG_POOL_RECYCLE_SECONDS = 1800


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # pysqlite's own transaction handling is turned off: the "begin" listener issues BEGIN itself.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    # In WAL mode NORMAL never corrupts the database; it syncs at checkpoints instead of every commit,
    # so the write lock is held for microseconds rather than an fsync.
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    # Checkpoints (and their fsync) run on a background thread (SqliteCheckpointer), not inside whichever
    # request's commit crosses the WAL's 1000-page mark; this cap only bounds the WAL if that thread is late.
    cursor.execute("PRAGMA wal_autocheckpoint=20000")
    cursor.close()


def _begin_with(sql: str) -> Callable[[Connection], None]:
    def begin(conn: Connection) -> None:
        conn.exec_driver_sql(sql)

    return begin


def make_engine(url: str, *, write_lock: bool = True, **kwargs: Any) -> Engine:
    """An engine for ``url``. On SQLite, ``write_lock`` picks ``BEGIN IMMEDIATE`` (else plain ``BEGIN``)."""
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 10}, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _begin_with("BEGIN IMMEDIATE" if write_lock else "BEGIN"))
        return engine
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 20)
    kwargs.setdefault("pool_recycle", PG_POOL_RECYCLE_SECONDS)
    return create_engine(url, **kwargs)


class SqliteWriterQueue:
    """Writers to one SQLite file wait their turn in the kernel (``flock``) instead of in SQLite's busy
    handler, which polls with growing sleeps (1, 2, 5, 10 ... ms): a writer is woken the moment the previous
    one commits, so tail latency under concurrent launches stays close to the median. Threads of one
    process queue on a lock first (``flock`` does not exclude threads sharing a file description)."""

    def __init__(self, database_path: str) -> None:
        self.path = database_path + ".writer-lock"
        self._threads = threading.Lock()
        self._held = threading.local()
        self._fd: int | None = None

    @contextmanager
    def turn(self) -> Iterator[None]:
        if getattr(self._held, "depth", 0):
            # A unit of work opened inside another on the same thread already has the turn; SQLite's own
            # lock (and its busy timeout) still orders the two connections.
            self._held.depth += 1
            try:
                yield
            finally:
                self._held.depth -= 1
            return
        with self._threads:
            if self._fd is None:
                self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            fcntl.flock(self._fd, fcntl.LOCK_EX)
            self._held.depth = 1
            try:
                yield
            finally:
                self._held.depth = 0
                fcntl.flock(self._fd, fcntl.LOCK_UN)


class SqliteCheckpointer:
    """Copies the WAL back into the database file every few seconds (``PRAGMA wal_checkpoint(PASSIVE)``,
    which never blocks writers), so no request pays for a checkpoint's fsync. One thread per process,
    started on first use (after a fork, the child starts its own)."""

    def __init__(self, engine: Engine, every: float = 2.0) -> None:
        self.engine = engine
        self.every = every
        self._pid: int | None = None
        self._stop = threading.Event()
        self._start_lock = threading.Lock()

    def ensure_running(self) -> None:
        if self._pid == os.getpid():
            return
        with self._start_lock:
            if self._pid == os.getpid():
                return
            self._pid = os.getpid()
            self._stop = threading.Event()
            threading.Thread(
                target=self._run, args=(self._stop,), name="sqlite-checkpoint", daemon=True
            ).start()

    def _run(self, stop: threading.Event) -> None:
        while not stop.wait(self.every):
            try:
                # A raw connection: no BEGIN around the checkpoint (pysqlite's isolation_level is None).
                raw = self.engine.raw_connection()
                try:
                    raw.cursor().execute("PRAGMA wal_checkpoint(PASSIVE)")
                finally:
                    raw.close()
            except Exception:  # the next round tries again; autocheckpoint still bounds the WAL
                continue

    def stop(self) -> None:
        self._stop.set()
        self._pid = None


class Database:
    def __init__(self, url: str, **engine_kwargs: Any) -> None:
        self.url = url
        self.engine = make_engine(url, **engine_kwargs)
        # SQLite: a second engine whose transactions do not take the write lock (an in-memory database
        # is private to its engine, so it keeps one). PostgreSQL needs none.
        in_memory = self.engine.url.database in (None, "", ":memory:")
        self.read_engine = (
            make_engine(url, write_lock=False, **engine_kwargs)
            if self.engine.dialect.name == "sqlite" and not in_memory
            else self.engine
        )
        # PostgreSQL: an engine whose commits do not wait for the WAL flush, for rows whose loss in a
        # server crash costs nothing but a retry (an OIDC login's state: the user opens the tool again;
        # see ``disposable_writes``). Launches, nonces and everything else commit durably on ``engine``.
        self.lazy_engine = (
            make_engine(url, connect_args={"options": "-c synchronous_commit=off"}, **engine_kwargs)
            if self.engine.dialect.name == "postgresql"
            else self.engine
        )
        self.writers = (
            SqliteWriterQueue(str(self.engine.url.database))
            if self.engine.dialect.name == "sqlite" and not in_memory
            else None
        )
        self.checkpointer = (
            SqliteCheckpointer(self.read_engine)
            if self.engine.dialect.name == "sqlite" and not in_memory
            else None
        )
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)
        self.lazy_sessions = sessionmaker(self.lazy_engine, expire_on_commit=False)
        self.read_sessions = sessionmaker(self.read_engine, expire_on_commit=False)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """One unit of work: commit on success, roll back on any error."""
        with self._writer_turn(), self.sessions() as session, session.begin():
            yield session

    def _writer_turn(self) -> Any:
        if self.writers is None:
            return nullcontext()
        if self.checkpointer is not None:
            self.checkpointer.ensure_running()
        return self.writers.turn()

    @contextmanager
    def disposable_writes(self) -> Iterator[Connection]:
        """A connection for a few statements that need no transaction around them and whose loss in a
        server crash costs only a retry (an OIDC login's state). PostgreSQL: autocommit, each statement
        its own round trip with no BEGIN/COMMIT, commits not waiting for the WAL flush. SQLite: one
        ``BEGIN IMMEDIATE`` transaction, as ``transaction()``."""
        if self.lazy_engine is self.engine:
            with self._writer_turn(), self.engine.begin() as conn:
                yield conn
            return
        with self.lazy_engine.connect() as conn:
            yield conn.execution_options(isolation_level="AUTOCOMMIT")

    @contextmanager
    def read(self) -> Iterator[Session]:
        """Read-only work: one consistent snapshot, no write lock; anything written is rolled back."""
        with self.read_sessions() as session:
            yield session

    @contextmanager
    def read_connection(self) -> Iterator[Connection]:
        """One or two read-only Core statements without an ORM session (what every page asks first)."""
        with self.read_engine.connect() as conn:
            yield conn

    @contextmanager
    def read_one_statement(self) -> Iterator[Connection]:
        """For exactly ONE read-only statement: a single statement is a consistent snapshot by itself, so
        on PostgreSQL it runs in autocommit, with no BEGIN and ROLLBACK round trips around it (two of the
        three a lone read would cost). SQLite: as ``read_connection`` (its BEGIN costs no round trip).
        More than one statement here would see more than one snapshot: use ``read()`` for those."""
        with self.read_engine.connect() as conn:
            if self.dialect == "postgresql":
                conn = conn.execution_options(isolation_level="AUTOCOMMIT")
            yield conn

    @contextmanager
    def one_write_statement(self) -> Iterator[Connection]:
        """PostgreSQL only: a connection for exactly ONE statement that writes, run in autocommit: the
        statement is its own transaction, all or nothing, committed durably (``engine``), with no BEGIN and
        COMMIT round trips around it. Several statements here would each commit alone: use
        ``transaction()`` for those."""
        if self.dialect != "postgresql":
            raise RuntimeError("one_write_statement is for PostgreSQL; use transaction()")
        with self.engine.connect() as conn:
            yield conn.execution_options(isolation_level="AUTOCOMMIT")

    def dispose(self) -> None:
        if self.checkpointer is not None:
            self.checkpointer.stop()
        self.engine.dispose()
        for extra in {self.read_engine, self.lazy_engine} - {self.engine}:
            extra.dispose()

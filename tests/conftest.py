"""Shared fixtures: every database test runs on SQLite, and on PostgreSQL when it is reachable.

PostgreSQL comes from TEST_POSTGRES_URL (default postgresql://postgres@127.0.0.1:5432/postgres). When
REQUIRE_POSTGRES=1 (CI sets it) an unreachable server fails the run instead of skipping those tests.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from lti_tool import create_app
from lti_tool.db import Database
from lti_tool.db.base import Base
from lti_tool.db.migrate import upgrade

PG_ADMIN_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


def _pg_reachable() -> bool:
    try:
        engine = create_engine(_psycopg(PG_ADMIN_URL), connect_args={"connect_timeout": 2})
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
        return True
    except Exception:
        return False


def _psycopg(url: str) -> str:
    return (
        url.replace("postgresql://", "postgresql+psycopg://", 1) if url.startswith("postgresql://") else url
    )


def require_postgres() -> None:
    if not _pg_reachable():
        if os.environ.get("REQUIRE_POSTGRES") == "1":
            pytest.fail(f"PostgreSQL required (REQUIRE_POSTGRES=1) but not reachable at {PG_ADMIN_URL}")
        pytest.skip("PostgreSQL not reachable (set TEST_POSTGRES_URL)")


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.sqlite3"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def pg_database_url() -> Iterator[str]:
    """One migrated PostgreSQL database per test process (xdist worker)."""
    require_postgres()
    name = f"lti_test_{os.environ.get('PYTEST_XDIST_WORKER', 'main')}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(_psycopg(PG_ADMIN_URL), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    upgrade(url)
    yield url
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _truncate_all(url: str) -> None:
    engine = create_engine(_psycopg(url))
    names = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    engine.dispose()


def _database_url(kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if kind == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        path = tmp_path / "test.sqlite3"
        shutil.copy(template, path)
        return f"sqlite:///{path}"
    url: str = request.getfixturevalue("pg_database_url")
    _truncate_all(url)
    return url


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A migrated, empty database: once on SQLite, once on PostgreSQL."""
    return _database_url(request.param, request, tmp_path)


@pytest.fixture
def sqlite_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return _database_url("sqlite", request, tmp_path)


@pytest.fixture
def postgres_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return _database_url("postgresql", request, tmp_path)


def app_config(database_url: str, tmp_path: Path, **extra: object) -> dict[str, object]:
    config: dict[str, object] = {
        "TESTING": True,
        "INSTANCE_PATH": str(tmp_path / "instance"),
        "DATABASE_URL": database_url,
        "SECRET_KEY": "test-secret-" + uuid.uuid4().hex,
        "CELERY_BROKER_URL": "",
        "OUTBOX_SYNC": True,
        "WTF_CSRF_ENABLED": False,
        "BASE_URL": "http://tool.test",
        # The test platforms serve plain http on 127.0.0.1; tests of production rules pass DEVELOPMENT="0".
        "DEVELOPMENT": "1",
        # Office pull pages show records at once (the settling window is tested on its own).
        "OFFICE_PULL_SETTLE_SECONDS": "0",
    }
    config.update(extra)
    return config


@pytest.fixture
def app(database_url: str, tmp_path: Path):  # type: ignore[no-untyped-def]
    """The app on each database (SQLite, then PostgreSQL)."""
    application = create_app(app_config(database_url, tmp_path))
    yield application
    application.extensions["db"].dispose()


@pytest.fixture
def sqlite_app(sqlite_url: str, tmp_path: Path):  # type: ignore[no-untyped-def]
    """The app on SQLite only, for tests whose subject is not the database."""
    application = create_app(app_config(sqlite_url, tmp_path))
    yield application
    application.extensions["db"].dispose()


@pytest.fixture
def db(app) -> Database:  # type: ignore[no-untyped-def]
    database: Database = app.extensions["db"]
    return database


@pytest.fixture
def client(app):  # type: ignore[no-untyped-def]
    return app.test_client()

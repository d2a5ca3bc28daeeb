"""The schema comes only from Alembic: every revision upgrades and downgrades, and models == migrations."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import create_engine, inspect, text

from lti_tool.db.base import Base
from lti_tool.db.migrate import alembic_config, downgrade, upgrade
from tests.conftest import PG_ADMIN_URL, _psycopg, require_postgres


def _tables(url: str) -> set[str]:
    engine = create_engine(_psycopg(url))
    try:
        return set(inspect(engine).get_table_names()) - {"alembic_version"}
    finally:
        engine.dispose()


def _round_trip(url: str) -> None:
    upgrade(url)
    assert _tables(url) == set(Base.metadata.tables)
    command.check(alembic_config(url))  # raises if the models and the revisions disagree
    downgrade(url, "base")
    assert _tables(url) == set()
    upgrade(url)
    assert _tables(url) == set(Base.metadata.tables)
    command.check(alembic_config(url))


def test_upgrade_downgrade_upgrade_on_sqlite(tmp_path: Path) -> None:
    _round_trip(f"sqlite:///{tmp_path / 'm.sqlite3'}")


def test_upgrade_downgrade_upgrade_on_postgresql() -> None:
    require_postgres()
    name = f"lti_migrations_{uuid.uuid4().hex[:8]}"
    admin = create_engine(_psycopg(PG_ADMIN_URL), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        _round_trip(PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}")
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_each_revision_steps_down_and_up_one_at_a_time(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'steps.sqlite3'}"
    upgrade(url)
    heads = []
    engine = create_engine(url)
    for _ in range(100):
        with engine.connect() as conn:
            current = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
        if current is None:
            break
        heads.append(current)
        downgrade(url, "-1")
    engine.dispose()
    assert heads[-1] == "0001" and len(heads) >= 3
    upgrade(url)
    assert _tables(url) == set(Base.metadata.tables)


def test_lti_tool_db_upgrade_command(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from lti_tool.cli import main

    url = f"sqlite:///{tmp_path / 'cli.sqlite3'}"
    result = CliRunner().invoke(main, ["db", "upgrade"], env={"DATABASE_URL": url, "SECRET_KEY": "x"})
    assert result.exit_code == 0, result.output
    assert _tables(url) == set(Base.metadata.tables)


@pytest.mark.parametrize("path", ["/healthz"])
def test_healthz_reports_database_and_maps(sqlite_app, path: str) -> None:  # type: ignore[no-untyped-def]
    from lti_tool.services.course_maps import discover_maps, load_course_maps

    load_course_maps(sqlite_app.extensions["db"], discover_maps(Path(__file__).parents[2] / "course_maps"))
    body = sqlite_app.test_client().get(path).get_json()
    assert body["status"] == "ok" and body["database"]["ok"] and body["database"]["schema_revision"]
    maps = {m["key"]: (m["stacks"], m["credentials"]) for m in body["course_maps"]}
    assert maps == {"learning-differences": (3, 15), "global-graduates": (1, 11)}


def test_healthz_says_when_the_database_is_not_migrated(tmp_path: Path) -> None:
    from lti_tool import create_app
    from tests.conftest import app_config

    app = create_app(app_config(f"sqlite:///{tmp_path / 'empty.sqlite3'}", tmp_path))
    response = app.test_client().get("/healthz")
    assert response.status_code == 503 and response.get_json()["database"]["ok"] is False

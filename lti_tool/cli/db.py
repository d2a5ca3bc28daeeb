"""``lti-tool db upgrade|downgrade|current``: the schema comes only from Alembic revisions."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext

from ..db.migrate import downgrade, upgrade


@click.group("db")
def db_group() -> None:
    """Database schema (Alembic)."""


@db_group.command("upgrade")
@click.argument("revision", default="head")
@with_appcontext
def upgrade_command(revision: str) -> None:
    """Migrate the database to REVISION (default: head)."""
    upgrade(current_app.extensions["db"].url, revision)
    click.echo(f"database at {revision}")


@db_group.command("downgrade")
@click.argument("revision")
@with_appcontext
def downgrade_command(revision: str) -> None:
    """Migrate the database down to REVISION (e.g. base)."""
    downgrade(current_app.extensions["db"].url, revision)
    click.echo(f"database at {revision}")

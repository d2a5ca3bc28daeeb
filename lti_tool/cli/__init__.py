"""The ``lti-tool`` command group (a Flask CLI group)."""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import FlaskGroup


def register_commands(app: Flask) -> None:
    from .badges import badges_group
    from .db import db_group
    from .lti import keys_group, platforms_group
    from .maps import maps_group
    from .offices import offices_group
    from .records import records_group
    from .serve import serve_command
    from .uploads import uploads_group
    from .worker import worker_command

    app.cli.add_command(db_group)
    app.cli.add_command(platforms_group)
    app.cli.add_command(keys_group)
    app.cli.add_command(maps_group)
    app.cli.add_command(worker_command)
    app.cli.add_command(serve_command)
    app.cli.add_command(uploads_group)
    app.cli.add_command(offices_group)
    app.cli.add_command(records_group)
    app.cli.add_command(badges_group)


def _create_app() -> Flask:
    from .. import create_app

    return create_app()


@click.group(cls=FlaskGroup, create_app=_create_app, add_version_option=False, load_dotenv=False)
def main() -> None:
    """Micro-credential Stacks LTI tool."""


def _commands_without_app() -> None:
    # Found before the app is built: the app refuses to start on a bad office file, and `offices check`
    # is how an operator finds out why.
    from .offices import offices_group

    main.add_command(offices_group)


_commands_without_app()

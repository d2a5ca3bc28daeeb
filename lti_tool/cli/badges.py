"""``lti-tool badges``: the Ed25519 keys Open Badges are signed with."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext

from ..services import badges


@click.group("badges")
def badges_group() -> None:
    """Open Badges 3.0 signing keys."""


@badges_group.command("keys")
@with_appcontext
def list_keys() -> None:
    """Every signing key: the newest unretired one signs; retired ones still verify their badges."""
    rows = badges.keys(current_app.extensions["db"])
    if not rows:
        click.echo("No key yet: one is made when the first badge is signed.")
    for row in rows:
        status = "active" if row.retired_at is None else f"retired {row.retired_at:%Y-%m-%d %H:%M}"
        click.echo(f"{row.id}\t{status}\t{row.method}")


@badges_group.command("rotate-key")
@with_appcontext
def rotate_key() -> None:
    """Sign new badges with a new key (badges already issued keep theirs and still verify)."""
    row = badges.rotate_key(current_app.extensions["db"])
    click.echo(f"New signing key {row.id}: {row.method}")

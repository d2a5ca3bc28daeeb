"""``lti-tool uploads clean``: remove artifact files in UPLOAD_DIR that no artifact refers to."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext

from ..services.storage_cleanup import STALE_TEMP_SECONDS, clean_uploads
from ..storage import FileStore


@click.group("uploads")
def uploads_group() -> None:
    """Artifact files in UPLOAD_DIR."""


def _size(n: int) -> str:
    return f"{n / (1024 * 1024):.1f} MB" if n >= 1024 * 1024 else f"{n} bytes"


@uploads_group.command("clean")
@click.option("--dry-run", is_flag=True, help="Only list what would be removed.")
@click.option(
    "--stale-after",
    type=click.IntRange(min=0),
    default=STALE_TEMP_SECONDS // 60,
    show_default=True,
    help="Minutes after which an unfinished temporary upload (.upload-*) counts as abandoned.",
)
@with_appcontext
def clean_command(dry_run: bool, stale_after: int) -> None:
    """Remove stored files no artifact refers to, and abandoned temporary uploads; print each one."""
    settings = current_app.extensions["settings"]
    report = clean_uploads(
        current_app.extensions["db"],
        FileStore(settings.upload_dir),
        dry_run=dry_run,
        stale_after_seconds=stale_after * 60,
    )
    verb = "would remove" if dry_run else "removed"
    for removal in report.removed:
        click.echo(f"{verb} {removal.path} ({_size(removal.size_bytes)}, {removal.reason})")
    if not report.removed:
        click.echo(f"nothing to remove in {settings.upload_dir}")
    else:
        click.echo(f"{verb} {len(report.removed)} file(s), {_size(report.total_bytes)}")

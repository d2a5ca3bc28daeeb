"""``lti-tool worker``: a Celery worker (with the outbox beat) for the configured broker."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext


@click.command("worker")
@click.option("--concurrency", default=2, show_default=True)
@click.option("--beat/--no-beat", default=True, show_default=True, help="Also drain the outbox every 15 s.")
@with_appcontext
def worker_command(concurrency: int, beat: bool) -> None:
    """Run a Celery worker. Needs CELERY_BROKER_URL (e.g. redis://127.0.0.1:6379/0)."""
    settings = current_app.extensions["settings"]
    if settings.tasks_in_process:
        raise click.UsageError(
            "CELERY_BROKER_URL is not set: tasks already run in-process, no worker needed."
        )
    celery = current_app.extensions["celery"]
    argv = ["worker", "--loglevel=INFO", f"--concurrency={concurrency}", "--pool=threads"]
    if beat:
        argv.append("--beat")
    celery.worker_main(argv)

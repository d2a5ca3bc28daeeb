"""Thin tasks around the outbox service."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

from celery import shared_task
from flask import Flask, current_app

from ..services import outbox as outbox_service

_kick_lock = threading.Lock()


def _drain(app: Flask) -> outbox_service.DrainResult:
    lease = timedelta(seconds=app.extensions["settings"].outbox_lease_seconds)
    return outbox_service.drain(app.extensions["db"], lease=lease)


@shared_task(name="lti_tool.tasks.outbox.drain_outbox", ignore_result=False)
def drain_outbox() -> dict[str, Any]:
    result = _drain(current_app)
    return {"delivered": result.delivered, "retried": result.retried}


@shared_task(name="lti_tool.tasks.outbox.ping")
def ping(value: str) -> str:
    """A round trip through the broker and a worker (used by the worker test and `lti-tool worker-check`)."""
    return f"pong:{value}:{current_app.name}"


def kick(app: Flask | None = None) -> None:
    """Ask for the outbox to be drained after a commit.

    With a broker this sends a task to the worker. Embedded (tasks in-process), it drains on a
    background thread so a slow gradebook never slows the learner's page.
    """
    app = app or current_app._get_current_object()  # type: ignore[attr-defined]
    if not app.extensions["settings"].tasks_in_process:
        drain_outbox.delay()
        return
    if app.config.get("OUTBOX_SYNC"):
        with app.app_context():
            drain_outbox.apply()
        return

    def _run() -> None:
        with _kick_lock, app.app_context():
            _drain(app)

    threading.Thread(target=_run, name="outbox-drain", daemon=True).start()

"""The periodic task that tells assessors of waiting work (a digest, at most one per assessor per window)."""

from __future__ import annotations

from typing import Any

from celery import shared_task
from flask import current_app

from ..services import notifications
from .outbox import kick


@shared_task(name="lti_tool.tasks.notifications.notify_waiting_work")
def notify_waiting_work() -> dict[str, Any]:
    result = notifications.notify_waiting_work(current_app.extensions["db"])
    if result.sent:
        kick(current_app._get_current_object())  # type: ignore[attr-defined]
    return {"sent": result.sent, "no_address": result.no_address, "recently_told": result.recently_told}

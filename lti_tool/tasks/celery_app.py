"""The Celery app. Embedded: tasks run in-process (eager); with CELERY_BROKER_URL a worker runs them."""

from __future__ import annotations

from typing import Any

from celery import Celery, Task
from flask import Flask


def init_celery(app: Flask) -> Celery:
    settings = app.extensions["settings"]

    class FlaskTask(Task):  # type: ignore[misc]
        def __call__(self, *args: Any, **kwargs: Any) -> Any:
            with app.app_context():
                return self.run(*args, **kwargs)

    celery = Celery(app.name, task_cls=FlaskTask)
    eager = settings.tasks_in_process
    celery.conf.update(
        broker_url=settings.celery_broker_url or "memory://",
        result_backend=settings.celery_result_backend or settings.celery_broker_url or "cache+memory://",
        task_always_eager=eager,
        task_eager_propagates=True,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        broker_connection_retry_on_startup=True,
        beat_schedule={
            "drain-outbox": {"task": "lti_tool.tasks.outbox.drain_outbox", "schedule": 15.0},
            # Hourly; the digest itself keeps each assessor to one e-mail per NOTIFY_DIGEST_HOURS.
            "notify-waiting-work": {
                "task": "lti_tool.tasks.notifications.notify_waiting_work",
                "schedule": 3600.0,
            },
        },
    )
    celery.set_default()
    app.extensions["celery"] = celery
    # Import the task modules so the worker knows them.
    from . import notifications, outbox  # noqa: F401

    return celery

"""``lti-tool serve``: gunicorn on 127.0.0.1; embedded mode also drains the outbox on a timer. A port that
is taken (an earlier ``make run``) stops it with a clear message before it says it serves."""

from __future__ import annotations

import errno
import logging
import os
import socket
import threading
import time
from typing import Any

import click
from flask import Flask, current_app
from flask.cli import with_appcontext

log = logging.getLogger("lti_tool.serve")
# The path without its query string and no Referer: the cookie-less session token (``lt``) travels in
# query strings, and must not end up in access logs.
ACCESS_LOG_FORMAT = '%(h)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(B)s %(M)sms "%(a)s" %({x-request-id}o)s'


def start_outbox_timer(app: Flask, every: float = 15.0, digest_every: float = 3600.0) -> threading.Event:
    """Embedded mode has no worker: retry pending outbox messages (a platform that was down) on a timer,
    and, as the worker's beat does, tell assessors of waiting work every ``digest_every`` seconds."""
    from ..services.notifications import notify_waiting_work
    from ..services.outbox import drain

    stop = threading.Event()

    def _loop() -> None:
        next_digest = time.monotonic() + digest_every
        while not stop.wait(every):
            try:
                with app.app_context():
                    if time.monotonic() >= next_digest:
                        next_digest = time.monotonic() + digest_every
                        notify_waiting_work(app.extensions["db"])
                    drain(app.extensions["db"])
            except Exception:  # keep the timer alive whatever one round met
                log.exception("event=outbox_timer_error")

    threading.Thread(target=_loop, name="outbox-timer", daemon=True).start()
    return stop


def check_port(host: str, port: int) -> None:
    """Bind the address once (as gunicorn will, with SO_REUSEADDR) and let go: a port in use, or an address
    that is not this machine's, is a ClickException (exit 1) with what to do, before anything is printed."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind(address)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise click.ClickException(
                f"Port {port} on {host} is already in use (is the tool, or another server, running there "
                f"already?). Stop it, or serve on another port: PORT={port + 1} make run, or "
                f"lti-tool serve --port {port + 1}."
            ) from None
        if exc.errno == errno.EACCES:
            raise click.ClickException(
                f"Not allowed to serve on port {port} (ports below 1024 need privileges): choose another, "
                "e.g. --port 5000."
            ) from None
        raise click.ClickException(f"Cannot serve on {host}:{port}: {exc.strerror or exc}.") from None


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option(
    "--port", type=int, default=lambda: int(os.environ.get("PORT", "5000")), show_default="PORT or 5000"
)
@click.option("--workers", default=1, show_default=True, help="gunicorn worker processes")
@click.option("--threads", default=8, show_default=True, help="threads per worker")
@with_appcontext
def serve_command(host: str, port: int, workers: int, threads: int) -> None:
    """Serve the tool with gunicorn."""
    from gunicorn.app.base import BaseApplication

    app = current_app._get_current_object()  # type: ignore[attr-defined]
    embedded = app.extensions["settings"].tasks_in_process

    class _Server(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            options: dict[str, Any] = {
                "bind": f"{host}:{port}",
                "workers": workers,
                "threads": threads,
                "accesslog": "-",
                "access_log_format": ACCESS_LOG_FORMAT,
                "timeout": 60,
            }
            for key, value in options.items():
                self.cfg.set(key, value)

        def load(self) -> Flask:
            # Called in each worker after the fork: its own app, engine and connections (a database
            # connection must never be shared across a fork), and in embedded mode its own outbox timer.
            from .. import create_app

            worker_app = create_app()
            if embedded:
                start_outbox_timer(worker_app)
            return worker_app

    settings = app.extensions["settings"]
    check_port(host, port)
    click.echo(
        f"Serving Micro-credential Stacks on http://{host}:{port} (database: {app.extensions['db'].dialect}, "
        f"tasks: {'in-process' if embedded else 'Celery worker'})"
    )
    if settings.dev_platform:
        click.echo(f"Try a launch without an LMS: http://{host}:{port}/dev/platform")
    app.extensions["db"].dispose()  # the master keeps no connections for the workers to inherit
    _Server().run()

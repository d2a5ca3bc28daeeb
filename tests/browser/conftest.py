"""A real server and Debian's Chromium for page tests, entered through the development LTI platform.

The app is served by werkzeug in a thread on 127.0.0.1 and a free port; people sign in with real
signed launches from ``/dev/platform`` (DEV_PLATFORM=1), so the pages see exactly what an LMS gives.
Chromium is the system one (/usr/bin/chromium): nothing is downloaded.
"""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from werkzeug.serving import BaseWSGIServer, make_server

from lti_tool import create_app
from tests.conftest import app_config

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
UPLOAD_LIMIT_MB = 1


class _Later:
    """The WSGI app the server calls; the Flask app is set once the port (and so BASE_URL) is known."""

    def __init__(self) -> None:
        self.app: Flask | None = None

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        assert self.app is not None
        return self.app(environ, start_response)


@dataclass
class LiveServer:
    url: str
    app: Flask


def need_chromium() -> None:
    """Skip without Chromium, except where REQUIRE_BROWSER is set (CI): there a missing browser fails."""
    if Path(CHROMIUM).exists():
        return
    if os.environ.get("REQUIRE_BROWSER"):
        pytest.fail(f"REQUIRE_BROWSER is set and Chromium is not at {CHROMIUM} (make chromium)")
    pytest.skip(f"Chromium not found at {CHROMIUM}")


@contextmanager
def serving(sqlite_template: Path, tmp_path: Path, **extra: str) -> Iterator[LiveServer]:
    """The app on a free port in a thread, with ``extra`` settings (e.g. OFFICES_DIR)."""
    need_chromium()
    db_path = tmp_path / "browser.sqlite3"
    shutil.copy(sqlite_template, db_path)
    later = _Later()
    server: BaseWSGIServer = make_server("127.0.0.1", 0, later, threaded=True)
    url = f"http://127.0.0.1:{server.server_port}"
    later.app = create_app(
        app_config(
            f"sqlite:///{db_path}",
            tmp_path,
            BASE_URL=url,
            DEV_PLATFORM="1",
            MAX_UPLOAD_MB=UPLOAD_LIMIT_MB,
            **extra,
        )
    )
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    try:
        yield LiveServer(url, later.app)
    finally:
        server.shutdown()
        thread.join(timeout=10)
        later.app.extensions["db"].dispose()


@pytest.fixture
def live_server(sqlite_template: Path, tmp_path: Path) -> Iterator[LiveServer]:
    with serving(sqlite_template, tmp_path) as server:
        yield server


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    need_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()
